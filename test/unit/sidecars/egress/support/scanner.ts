/**
 * The DLP scanner the egress tests run with. Until sidecars/dlp lands its
 * engine, a stand-in that finds known secrets verbatim (the policy tests only
 * need "a finding in this location"); the DLP-specific egress tests use the
 * real engine.
 */
import type { BodyScanInput, BodyVerdict, DlpFinding, DlpScanner, ScannerOptions } from '../../../../../sidecars/dlp/types.js'

export function createStandInScanner(options: ScannerOptions = {}): DlpScanner {
  const secrets = options.knownSecrets ?? []
  const find = (text: string, location: string): DlpFinding[] =>
    secrets.some((secret) => text.includes(secret)) ? [{ rule: 'known-secret', location }] : []
  return {
    scanText: find,
    scanUrl: (url, location = 'url') => [...find(decodeURIComponent(url.pathname), `${location}.path`), ...find(decodeURIComponent(url.search), `${location}.query`)],
    scanHost: (host, location = 'host') => find(host, location),
    scanBody(input: BodyScanInput, location = 'body'): BodyVerdict {
      if (input.contentEncoding && input.contentEncoding !== 'identity') return { ok: false, reason: `content-encoding ${input.contentEncoding} cannot be scanned` }
      return { ok: true, findings: find(Buffer.from(input.body).toString('utf8'), location) }
    },
  }
}
