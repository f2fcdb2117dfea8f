/**
 * `applied.json` in the state folder: what the proxy is enforcing now, for
 * the controller's RoutesApplied condition. Written atomically (temporary
 * file, then rename) after every load attempt. It names routes, slots and
 * hashes, never a secret value.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { EgressConfig } from './config.js'

export const APPLIED_FILE = 'applied.json'

export interface AppliedRoute {
  host: string
  paths?: string[]
  tls: 'intercept' | 'passthrough'
  auth?: { scheme: 'Bearer' | 'token'; slot: string }
  upstream?: string
}

export interface AppliedEgressState {
  /** When the config in force was applied; null when none ever was. */
  appliedAt: string | null
  /** `sha256:<hex>` of the config.json in force (see load-config.ts); null when none. */
  configHash: string | null
  routes: AppliedRoute[]
  /** When the last load was attempted. */
  attemptedAt: string
  /** Hash of the config.json the last attempt read; differs from configHash after a rejection. */
  attemptedConfigHash: string | null
  /** One line, present when the last attempt was rejected and the previous config kept. */
  error?: string
}

export function appliedRoutes(config: EgressConfig): AppliedRoute[] {
  return config.routes.map((route) => {
    const applied: AppliedRoute = { host: route.host, tls: route.tls }
    if (route.paths) applied.paths = [...route.paths]
    if (route.auth) applied.auth = { scheme: route.auth.scheme, slot: route.auth.slot }
    if (route.upstream) applied.upstream = route.upstream
    return applied
  })
}

export async function writeAppliedState(stateDir: string, state: AppliedEgressState): Promise<void> {
  await mkdir(stateDir, { recursive: true })
  const target = join(stateDir, APPLIED_FILE)
  const temporary = join(stateDir, `.${APPLIED_FILE}.${process.pid}.tmp`)
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 })
  await rename(temporary, target)
}
