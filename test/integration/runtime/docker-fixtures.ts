/**
 * Shared set-up for the runtime integration tests: the images they run
 * (built through the real image store, from the offline base), a unique
 * controller instance per run, and a clean-up that removes every object of
 * that instance and the test-only image tag.
 */
import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Dockerode from 'dockerode'
import { build } from 'esbuild'
import pino, { type Logger } from 'pino'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { ownershipFilter } from '../../../controller/runtime/docker/names.js'

const repoRoot = resolve(import.meta.dirname, '../../..')

export const docker = new Dockerode()

/** Silent unless BOTTLE_TEST_LOG=debug; tests assert on behaviour, not on log lines. */
export function testLogger(): Logger {
  return pino({ level: process.env.BOTTLE_TEST_LOG ?? 'silent' })
}

/** A controller instance name no other run uses, so parallel runs never see each other. */
export function uniqueInstance(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`
}

export interface TestImages {
  /** The real sidecars image, with fixture daemons (listen, forever) bundled beside the init. */
  sidecars: string
  agent: string
  /** Removes the test-only sidecars tag; the base and agent images are the product's and stay cached. */
  cleanup(): Promise<void>
}

/**
 * Builds what the tests run, exactly as the controller would: the offline
 * base (debootstrap, ~1 min the first time), the agent image and a sidecars
 * image whose bundle holds the real init plus fixture daemons.
 */
export async function buildTestImages(): Promise<TestImages> {
  const bundleDir = mkdtempSync(join(tmpdir(), 'bottle-test-bundle-'))
  try {
    await build({
      entryPoints: [join(repoRoot, 'sidecars/init/main.ts')],
      outfile: join(bundleDir, 'init.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
      logLevel: 'error',
    })
    for (const fixture of ['listen', 'forever']) {
      copyFileSync(join(repoRoot, `fixtures/daemons/${fixture}.mjs`), join(bundleDir, `${fixture}.mjs`))
    }
    const store = new DockerImageStore({ docker, logger: testLogger(), bundleDir })
    const progress = (line: string): void => {
      if (!line.includes(': Step ')) process.stderr.write(`${line}\n`)
    }
    const sidecars = await store.ensure({ kind: 'sidecars' }, progress)
    const agent = await store.ensure({ kind: 'agent', provider: 'claude' }, progress)
    return {
      sidecars,
      agent,
      cleanup: async () => {
        await docker
          .getImage(sidecars)
          .remove()
          .catch(() => undefined)
      },
    }
  } finally {
    rmSync(bundleDir, { recursive: true, force: true })
  }
}

/** Removes every container, network and volume of `instance` (the driver under test may be broken). */
export async function removeInstance(instance: string): Promise<void> {
  const filters = { label: ownershipFilter(instance) }
  const containers = await docker.listContainers({ all: true, filters })
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)))
  const networks = await docker.listNetworks({ filters })
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)))
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? []
  await Promise.all(volumes.map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)))
}
