/**
 * A request the daemon hands to the controller: one JSON file per proposal in
 * `<state>/requests/<id>.json` (state = `/var/lib/bottle/supervise`, the
 * bundle's read-write folder; on the host `<state>/agents/<agent>/sidecars-state/supervise`).
 * Written atomically (temporary dot file, then rename), so the controller
 * never reads half a request; the controller deletes the file once it has
 * turned it into a Proposal file or a refusal.
 *
 *   { "version": 1, "id": "impl-3", "agent": "impl",
 *     "route": { "host": "docs.example.com", "paths": ["/v1/"] },
 *     "reason": "the build downloads its docs index", "requestedAt": "2025-..." }
 *
 * The controller reads it as untrusted input: this schema is strict, and
 * the controller checks the content again with proposal-rules.ts.
 */
import { mkdir, readdir, readFile, rename } from 'node:fs/promises'
import { writeFileAtomic } from '../shared/atomic-write.js'
import { join } from 'node:path'
import * as z from 'zod'
import { MAX_PATH_LENGTH, MAX_PATHS, MAX_REASON_LENGTH } from './proposal-rules.js'
import { PROPOSAL_ID, type Parsed } from './supervise-config.js'

export const REQUESTS_DIR = 'requests'
/** The daemon's own record of the next number, so a restart never reuses one. */
export const COUNTER_FILE = 'next-number'
/** A request file larger than this is not read. */
export const MAX_REQUEST_BYTES = 64 * 1024

export const routeRequestSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(PROPOSAL_ID),
  agent: z.string().regex(/^[a-z][a-z0-9-]{0,52}$/),
  route: z.strictObject({
    host: z.string().min(1).max(300),
    paths: z.array(z.string().max(MAX_PATH_LENGTH)).max(MAX_PATHS).optional(),
  }),
  reason: z.string().min(1).max(MAX_REASON_LENGTH),
  requestedAt: z.iso.datetime(),
})

export type RouteRequest = z.infer<typeof routeRequestSchema>

export function requestFileName(id: string): string {
  return `${id}.json`
}

/** Parses a request file's text. Errors are one line and never quote the content. */
export function parseRouteRequest(text: string): Parsed<RouteRequest> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, error: 'invalid JSON' }
  }
  const result = routeRequestSchema.safeParse(json)
  if (result.success) return { ok: true, value: result.data }
  const issue = result.error.issues[0]!
  const where = issue.path.join('.') || '(root)'
  if (issue.code === 'unrecognized_keys') return { ok: false, error: `${where}: a proposal cannot carry ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` }
  return { ok: false, error: `${where}: ${issue.message}`.replace(/\s+/g, ' ') }
}

/** Writes one request atomically into `<stateDir>/requests/`. */
export async function writeRouteRequest(stateDir: string, request: RouteRequest): Promise<void> {
  const dir = join(stateDir, REQUESTS_DIR)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFileAtomic(join(dir, requestFileName(request.id)), `${JSON.stringify(request, null, 2)}\n`, 0o600)
}

/** Ids of the request files waiting in `<stateDir>/requests/` (dot files are writes in progress). */
export async function listRequestIds(stateDir: string): Promise<string[]> {
  const names = await readdir(join(stateDir, REQUESTS_DIR)).catch(() => [] as string[])
  return names
    .filter((n) => !n.startsWith('.') && n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .sort()
}

export async function readRequestText(stateDir: string, id: string): Promise<string> {
  return readFile(join(stateDir, REQUESTS_DIR, requestFileName(id)), 'utf8')
}
