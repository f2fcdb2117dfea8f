/**
 * The egress proxy as main.ts assembles it (reloader, runtime builder,
 * mechanism), on a loopback port, with its config folder in a temporary
 * directory, a resolver that maps test names to loopback origins, and its
 * log lines captured for assertions.
 */
import { mkdtemp, readFile, rm, writeFile, rename } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DlpScanner, ScannerOptions } from '../../../../../sidecars/dlp/types.js'
import type { AppliedEgressState } from '../../../../../sidecars/egress/applied-state.js'
import { buildEgressRuntime } from '../../../../../sidecars/egress/build-runtime.js'
import { mintCertificateAuthority, type CertificateAuthority } from '../../../../../sidecars/egress/certificates.js'
import type { EgressConfigInput } from '../../../../../sidecars/egress/config.js'
import { createEgressLogger } from '../../../../../sidecars/egress/event-log.js'
import { startEgressProxy, type EgressProxy } from '../../../../../sidecars/egress/proxy-server.js'
import { createDomainRateLimiter } from '../../../../../sidecars/egress/rate-limit.js'
import { createConfigReloader, type ConfigReloader } from '../../../../../sidecars/egress/reload.js'

export interface HarnessOptions {
  config: EgressConfigInput
  secrets?: Record<string, string>
  /** Test names to addresses; anything else does not resolve. */
  hosts?: Record<string, string[]>
  createScanner: (options: ScannerOptions) => DlpScanner
  watch?: boolean
}

export interface Harness {
  port: number
  proxy: EgressProxy
  ca: CertificateAuthority
  configDir: string
  stateDir: string
  logs: Array<Record<string, unknown> & { event?: string }>
  reloader: ConfigReloader
  writeConfig(config: EgressConfigInput | string, secrets?: Record<string, string>): Promise<void>
  applied(): Promise<AppliedEgressState>
  close(): Promise<void>
}

let sharedCa: CertificateAuthority | undefined

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'bottle-egress-test-'))
  const configDir = join(root, 'config')
  const stateDir = join(root, 'state')
  await (await import('node:fs/promises')).mkdir(configDir, { recursive: true })
  sharedCa ??= mintCertificateAuthority({ commonName: 'bottle egress test agent CA' })
  const ca = sharedCa
  await writeFile(join(configDir, 'ca.crt'), ca.certPem)
  await writeFile(join(configDir, 'ca.key'), ca.keyPem, { mode: 0o600 })

  const writeAtomically = async (name: string, text: string, mode: number) => {
    const temporary = join(configDir, `.${name}.tmp`)
    await writeFile(temporary, text, { mode })
    await rename(temporary, join(configDir, name))
  }
  const writeConfig = async (config: EgressConfigInput | string, secrets?: Record<string, string>) => {
    if (secrets) await writeAtomically('secrets.json', JSON.stringify(secrets), 0o600)
    await writeAtomically('config.json', typeof config === 'string' ? config : JSON.stringify(config), 0o644)
  }
  await writeConfig(options.config, options.secrets ?? {})

  const logs: Harness['logs'] = []
  const log = createEgressLogger({ write: (line: string) => logs.push(JSON.parse(line)) }, 'debug')
  const limiter = createDomainRateLimiter()
  const reloader = createConfigReloader({
    configDir,
    stateDir,
    log,
    debounceMs: 50,
    build: (files, generation) => buildEgressRuntime(files, generation, { createScanner: options.createScanner, limiter, systemCaPem: undefined }),
  })
  await reloader.reload('startup')
  if (options.watch) await reloader.watch()
  const hosts = options.hosts ?? {}
  const proxy = await startEgressProxy({
    host: '127.0.0.1',
    port: 0,
    runtime: reloader.current,
    log,
    resolve: async (name) => {
      const found = hosts[name]
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
      return found
    },
  })
  return {
    port: proxy.address.port,
    proxy,
    ca,
    configDir,
    stateDir,
    logs,
    reloader,
    writeConfig,
    applied: async () => JSON.parse(await readFile(join(stateDir, 'applied.json'), 'utf8')) as AppliedEgressState,
    close: async () => {
      await reloader.close()
      await proxy.close()
      await rm(root, { recursive: true, force: true })
    },
  }
}
