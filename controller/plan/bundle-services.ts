/**
 * The sidecar bundle as the agent sees it: the names it dials on its
 * internal network and the port behind each. Driver-neutral, so every
 * driver makes the same names answer (Docker as network aliases, a VM as
 * forwarded ports); no driver invents a name of its own.
 */
import { GIT_GATE_HOST, GIT_GATE_PORT } from '../../sidecars/git-gate/config.js'

export type BundleService = 'egress' | 'git-gate' | 'supervise'

/** Each daemon's name on the internal network and the port it listens on there (its own default). */
export const BUNDLE_SERVICES: Readonly<Record<BundleService, { host: string; port: number }>> = {
  egress: { host: 'egress', port: 8888 },
  'git-gate': { host: GIT_GATE_HOST, port: GIT_GATE_PORT },
  supervise: { host: 'supervise', port: 9100 },
}

/** The bundle as a whole (for `bottle exec --sidecars` users and tools that dial "the sidecars"). */
export const BUNDLE_HOST = 'sidecars'

/** Every name the bundle answers to, in a fixed order: the sidecars part's aliases. */
export const BUNDLE_ALIASES: readonly string[] = [...Object.values(BUNDLE_SERVICES).map((s) => s.host), BUNDLE_HOST]

/** `http://<host>:<port><path>` of one bundle service, as the agent dials it. */
export function bundleUrl(service: BundleService, path = ''): string {
  const { host, port } = BUNDLE_SERVICES[service]
  return `http://${host}:${port}${path}`
}
