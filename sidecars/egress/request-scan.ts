/**
 * What DLP looks at in an outbound request, in the proxy's location
 * vocabulary: `host`, `url...` (path segments, query keys and values),
 * `header:<name>` (values), `header-name` (names), `body...`. The engine
 * itself (`sidecars/dlp`) normalizes and decides; this file only feeds it.
 */
import { pairFields } from '../dlp/join-scan.js'
import type { BodyVerdict, DlpFinding, DlpScanner } from '../dlp/types.js'
import type { CanonicalHost } from './route-match.js'

export interface RequestHead {
  host: CanonicalHost
  url: URL
  /** The headers as they will leave, before any credential is injected. */
  headers: readonly string[]
}

export function scanRequestHead(scanner: DlpScanner, head: RequestHead): DlpFinding[] {
  const findings: DlpFinding[] = []
  if (head.host.kind === 'name') findings.push(...scanner.scanHost(head.host.host, 'host'))
  findings.push(...scanner.scanUrl(head.url, 'url'))
  for (let i = 0; i + 1 < head.headers.length; i += 2) {
    const name = (head.headers[i] as string).toLowerCase()
    if (name === 'host') continue // scanned as `host`, and rebuilt from it
    findings.push(...scanner.scanText(head.headers[i] as string, 'header-name'))
    findings.push(...scanner.scanText(head.headers[i + 1] as string, `header:${name}`))
  }
  for (const finding of headerJoins(scanner, head.headers)) if (!findings.some((f) => f.rule === finding.rule && f.location.startsWith('header'))) findings.push(finding)
  return findings
}

/** Header lists repeat from request to request (a client sends the same ones): their joins are remembered per scanner. */
const joinMemos = new WeakMap<DlpScanner, Map<string, DlpFinding[]>>()
const JOIN_MEMO_ENTRIES = 256
const JOIN_MEMO_KEY_CHARS = 8192

/** A secret split over several header values, or over a header's name and its value. */
function headerJoins(scanner: DlpScanner, headers: readonly string[]): DlpFinding[] {
  const key = headers.join('\n')
  let memo = joinMemos.get(scanner)
  const known = memo?.get(key)
  if (known) return known
  const values: string[] = []
  const pairs: [string, string][] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === 'host') continue
    values.push(headers[i + 1] as string)
    pairs.push([headers[i] as string, headers[i + 1] as string])
  }
  const found = [...scanner.scanJoined(values, 'header(joined)'), ...scanner.scanJoined(pairFields(pairs), 'header(joined)')]
  if (key.length <= JOIN_MEMO_KEY_CHARS) {
    if (!memo) joinMemos.set(scanner, (memo = new Map()))
    memo.set(key, found)
    if (memo.size > JOIN_MEMO_ENTRIES) memo.delete(memo.keys().next().value as string)
  }
  return found
}

export function scanRequestBody(scanner: DlpScanner, body: Uint8Array, contentType: string | undefined, contentEncoding: string | undefined): BodyVerdict {
  return scanner.scanBody({ body, contentType, contentEncoding }, 'body')
}

/**
 * Would logging the host or the path of a request with these findings log
 * the secret? The log never carries the query, so query findings leave the
 * path loggable.
 */
export function findingsTouch(findings: readonly DlpFinding[]): { host: boolean; path: boolean } {
  return {
    host: findings.some((f) => f.location.startsWith('host') || f.location.startsWith('recent-requests:subdomain') || f.location === 'recent-requests:any'),
    path: findings.some((f) => (f.location.startsWith('url') && !/^url\.(query|fragment)/.test(f.location)) || /^recent-requests:(path|any)/.test(f.location)),
  }
}
