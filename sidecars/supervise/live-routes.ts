/**
 * The routes the egress proxy enforces right now, as egress itself reports
 * them in applied.json (bundle-contract.ts), reduced to what
 * the agent may know: host, path prefixes, TLS mode and whether a credential
 * is injected. Slot names and upstreams stay out; no token value is ever in
 * that file to begin with.
 */
import { readFile } from 'node:fs/promises'
import { parseAppliedState } from '../shared/bundle-contract.js'
import { readOptional } from '../shared/read-config-folder.js'

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
  let text: string | undefined
  try {
    text = await readOptional(appliedPath)
  } catch {
    return undefined
  }
  const state = text === undefined ? undefined : parseAppliedState(text)
  if (!state) return undefined
  const routes: LiveRoute[] = state.routes.map((route) => ({
    host: route.host,
    ...(route.paths ? { paths: route.paths } : {}),
    tls: route.tls,
    authInjected: route.auth !== undefined,
  }))
  return { appliedAt: state.appliedAt, routes }
}
