/**
 * The provider images (bottle-agent-claude, bottle-agent-codex) built
 * through the real image store on the real engine: the pinned CLIs run in
 * the box as the agent user, an unchanged image is neither rebuilt nor
 * downloaded again, and the generic images/agent still builds on its own.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { cliArch, ensurePinnedTarball, readProviderCliPin } from '../../../controller/runtime/docker/provider-cli-packages.js'
import { docker, testLogger } from './docker-fixtures.js'

const repoRoot = resolve(import.meta.dirname, '../../..')
const cacheDir = join(repoRoot, '.cache')
const BUILD_TIMEOUT = 600_000

const providers = [
  { provider: 'claude' as const, versionLine: (version: string) => `${version} (Claude Code)` },
  { provider: 'codex' as const, versionLine: (version: string) => `codex-cli ${version}` },
]

/** Tags this file made for itself; the product's own tags stay cached for the other tests. */
const ownTags: string[] = []
let work: string

/** Runs `script` as the agent user (uid 1000, as the entrypoint would drop to) with no network; returns its output. */
async function runInImage(ref: string, script: string): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    Image: ref,
    User: '1000:1000',
    Cmd: ['sh', '-c', script],
    HostConfig: { NetworkMode: 'none' },
    Labels: { 'bottle.dev/test': 'provider-images' },
  })
  try {
    await container.start()
    const { StatusCode } = (await container.wait()) as { StatusCode: number }
    const logs = await container.logs({ stdout: true, stderr: true, follow: false })
    // Drop the 8-byte multiplexing header of each frame.
    let output = ''
    for (let offset = 0; offset + 8 <= logs.length; ) {
      const size = logs.readUInt32BE(offset + 4)
      output += logs.subarray(offset + 8, offset + 8 + size).toString()
      offset += 8 + size
    }
    return { exitCode: StatusCode, output }
  } finally {
    await container.remove({ force: true })
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bottle-provider-images-'))
  // The base is shared with every other test; build it here so the tests below time only their own images.
  await new DockerImageStore({ docker, logger: testLogger() }).ensureBase()
}, BUILD_TIMEOUT)

afterAll(async () => {
  for (const tag of ownTags) await docker.getImage(tag).remove().catch(() => undefined)
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('provider images', () => {
  const built = new Map<string, string>()

  it.each(providers.map((entry) => [entry.provider, entry] as const))(
    'builds bottle-agent-%s, whose CLI reports the pinned version as the agent (uid 1000)',
    async (_, { provider, versionLine }) => {
      const pin = await readProviderCliPin(repoRoot, provider)
      const store = new DockerImageStore({ docker, logger: testLogger() })
      const progress: string[] = []
      const started = Date.now()
      const ref = await store.ensure({ kind: 'agent', provider }, (line) => progress.push(line))
      const seconds = Math.round((Date.now() - started) / 1000)
      process.stderr.write(`${ref}: ${progress.length === 0 ? 'already built' : `ready in ${seconds}s`}\n`)
      expect(ref).toBe(await store.resolve({ kind: 'agent', provider }))
      built.set(provider, ref)

      const image = await docker.getImage(ref).inspect()
      expect(image.Config.Labels).toMatchObject({ 'bottle.dev/provider': provider, 'bottle.dev/cli-version': pin.version })
      const cli = pin.packages[cliArch((await docker.version()).Arch)]
      expect(image.Config.Labels?.['bottle.dev/cli-package']).toBe(`${cli.name}@${cli.version}`)

      const { exitCode, output } = await runInImage(ref, `id -u; id -un; echo "$HOME"; ${provider} --version`)
      expect({ exitCode, lines: output.trim().split('\n') }).toEqual({
        exitCode: 0,
        lines: ['1000', 'agent', '/home/agent', versionLine(pin.version)],
      })
    },
    BUILD_TIMEOUT,
  )

  it('builds and downloads nothing for a second ensure()', async () => {
    const fetches: string[] = []
    const store = new DockerImageStore({
      docker,
      logger: testLogger(),
      fetchPackage: async (spec) => {
        fetches.push(spec)
        throw new Error('no download expected')
      },
    })
    for (const { provider } of providers) {
      const progress: string[] = []
      expect(await store.ensure({ kind: 'agent', provider }, (line) => progress.push(line))).toBe(built.get(provider))
      expect(progress).toEqual([])
    }
    expect(fetches).toEqual([])
  })

  it(
    'rebuilds on a changed Dockerfile from the cached, re-verified tarball',
    async () => {
      // The premise: the tarball is cached (the builds above fetch nothing when the engine already has their images).
      const pin = (await readProviderCliPin(repoRoot, 'claude')).packages[cliArch((await docker.version()).Arch)]
      await ensurePinnedTarball(pin, { cacheDir })
      // A copy of the package's images with one Dockerfile edited: a new tag, the same cached tarball.
      const packageRoot = join(work, 'package')
      cpSync(join(repoRoot, 'images'), join(packageRoot, 'images'), { recursive: true })
      const dockerfile = join(packageRoot, 'images/agent-claude/Dockerfile')
      writeFileSync(dockerfile, `${readFileSync(dockerfile, 'utf8')}# edited by provider-images.test.ts\n`)
      const store = new DockerImageStore({
        docker,
        logger: testLogger(),
        packageRoot,
        cacheDir,
        fetchPackage: async () => {
          throw new Error('no download expected: the tarball is cached')
        },
      })
      const progress: string[] = []
      const ref = await store.ensure({ kind: 'agent', provider: 'claude' }, (line) => progress.push(line))
      ownTags.push(ref)
      expect(ref).not.toBe(built.get('claude'))
      expect(progress[0]).toMatch(/^bottle-agent-claude:[0-9a-f]{12}: @anthropic-ai\/claude-code-linux-(x64|arm64)@[\d.]+: using the cached tarball \(\d+ MB, sha512 matches the pin\)$/)
      expect(progress.at(-1)).toMatch(/built in \d+s$/)
      expect((await runInImage(ref, 'claude --version')).output).toMatch(/^[\d.]+ \(Claude Code\)\n$/)
    },
    BUILD_TIMEOUT,
  )

  it(
    'keeps images/agent buildable as the generic box, with no agent CLI',
    async () => {
      const store = new DockerImageStore({ docker, logger: testLogger() })
      const ref = await store.ensure({ kind: 'agent-dockerfile', dockerfile: join(repoRoot, 'images/agent/Dockerfile') })
      ownTags.push(ref)
      const { exitCode, output } = await runInImage(ref, 'id -un; command -v claude codex || echo no-cli; test -x /usr/local/bin/bottle-agent-init && echo entrypoint')
      expect({ exitCode, output }).toEqual({ exitCode: 0, output: 'agent\nno-cli\nentrypoint\n' })
    },
    BUILD_TIMEOUT,
  )
})
