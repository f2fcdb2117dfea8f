/**
 * The routes the egress proxy enforces right now, as egress itself reports
 * them in applied.json (sidecars/egress/applied-state.ts), reduced to what
 * the agent may know: host, path prefixes, TLS mode and whether a credential
 * is injected. Slot names and upstreams stay out; no token value is ever in
 * that file to begin with.
 */
import { readFile } from 'node:fs/promises'
import type { AppliedEgressState } from '../egress/applied-state.js'

export interface LiveRoute {
  host: string
  /** Absent: every path of the host. */
  paths?: string[]
  tls: 'intercept' | 'passthrough'
  /** The proxy adds a credential on this route (the agent never sees it). */
  authInjected: boolean
}

export interface LiveRoutes {
  /** When egress applied the config in force; null when it never applied one. */
  appliedAt: string | null
  routes: LiveRoute[]
}

/** Reads egress's report. Undefined when there is none yet, or it cannot be read as one. */
export async function readLiveRoutes(appliedPath: string): Promise<LiveRoutes | undefined> {
  let state: Partial<AppliedEgressState>
  try {
    state = JSON.parse(await readFile(appliedPath, 'utf8')) as Partial<AppliedEgressState>
  } catch {
    return undefined
  }
  if (typeof state !== 'object' || state === null || !Array.isArray(state.routes)) return undefined
  const routes: LiveRoute[] = []
  for (const route of state.routes) {
    if (typeof route !== 'object' || route === null || typeof route.host !== 'string') continue
    const paths = Array.isArray(route.paths) ? route.paths.filter((p): p is string => typeof p === 'string') : undefined
    routes.push({
      host: route.host,
      ...(paths ? { paths } : {}),
      tls: route.tls === 'passthrough' ? 'passthrough' : 'intercept',
      authInjected: route.auth !== undefined && route.auth !== null,
    })
  }
  return { appliedAt: typeof state.appliedAt === 'string' ? state.appliedAt : null, routes }
}
