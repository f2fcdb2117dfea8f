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
  const values: string[] = []
  const pairs: [string, string][] = []
  for (let i = 0; i + 1 < head.headers.length; i += 2) {
    const name = (head.headers[i] as string).toLowerCase()
    if (name === 'host') continue // scanned as `host`, and rebuilt from it
    findings.push(...scanner.scanText(head.headers[i] as string, 'header-name'))
    findings.push(...scanner.scanText(head.headers[i + 1] as string, `header:${name}`))
    values.push(head.headers[i + 1] as string)
    pairs.push([head.headers[i] as string, head.headers[i + 1] as string])
  }
  // A secret split over several header values, or over a header's name and its value.
  const joined = [...scanner.scanJoined(values, 'header(joined)'), ...scanner.scanJoined(pairFields(pairs), 'header(joined)')]
  for (const finding of joined) if (!findings.some((f) => f.rule === finding.rule && f.location.startsWith('header'))) findings.push(finding)
  return findings
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
