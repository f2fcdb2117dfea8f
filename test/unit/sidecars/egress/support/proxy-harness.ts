/**
 * The egress proxy as main.ts assembles it (reloader, config compiler,
 * mechanism), on a loopback port, with its config folder in a temporary
 * directory, a resolver that maps test names to loopback origins, and its
 * log lines captured for assertions.
 */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DlpScanner, ScannerOptions } from '../../../../../sidecars/dlp/types.js'
import { parseAppliedState, type EgressAppliedState } from '../../../../../sidecars/shared/bundle-contract.js'
import { mintCertificateAuthority, type CertificateAuthority } from '../../../../../sidecars/egress/certificates.js'
import type { EgressConfigInput } from '../../../../../sidecars/egress/config.js'
import { createEgressLogger } from '../../../../../sidecars/egress/event-log.js'
import type { EgressProxy } from '../../../../../sidecars/egress/proxy-server.js'
import type { ConfigReloader } from '../../../../../sidecars/egress/reload.js'
import { startEgressSidecar } from '../../../../../sidecars/egress/sidecar.js'

export interface HarnessOptions {
  config: EgressConfigInput
  secrets?: Record<string, string>
  /** Test names to addresses; anything else does not resolve. */
  hosts?: Record<string, string[]>
  createScanner: (options: ScannerOptions) => DlpScanner
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
  applied(): Promise<EgressAppliedState>
  close(): Promise<void>
}

let sharedCa: CertificateAuthority | undefined

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'bottle-egress-test-'))
  const configDir = join(root, 'config')
  const stateDir = join(root, 'state')
  await mkdir(configDir, { recursive: true })
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
  const hosts = options.hosts ?? {}
  const sidecar = await startEgressSidecar({
    configDir,
    stateDir,
    host: '127.0.0.1',
    port: 0,
    log,
    createScanner: options.createScanner,
    debounceMs: 50,
    resolve: async (name) => {
      const found = hosts[name]
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
      return found
    },
  })
  const { proxy, reloader } = sidecar
  return {
    port: proxy.address.port,
    proxy,
    ca,
    configDir,
    stateDir,
    logs,
    reloader,
    writeConfig,
    applied: async () => appliedState(await readFile(join(stateDir, 'applied.json'), 'utf8')),
    close: async () => {
      await sidecar.stop()
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** The report as the controller reads it: a file that is not one fails the test here. */
function appliedState(text: string): EgressAppliedState {
  const state = parseAppliedState(text)
  if (!state) throw new Error(`applied.json is not an applied-state report: ${text.slice(0, 200)}`)
  return state
}
