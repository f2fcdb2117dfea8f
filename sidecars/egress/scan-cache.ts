/**
 * A memo in front of the DLP scanner for what repeats from request to
 * request: header values (User-Agent, Accept, Content-Type ...), hosts and
 * URLs. The engine is pure (same input, same findings), so a remembered
 * answer is the answer; bodies are never memoized. One memo per loaded
 * config, since the known secrets are part of the scanner. Long inputs are
 * not kept, so the memo stays small whatever the agent sends.
 */
import type { DlpFinding, DlpScanner } from '../dlp/types.js'

export interface ScanCacheOptions {
  maxEntries?: number
  /** Inputs longer than this are scanned every time. */
  maxInputLength?: number
}

export function withScanCache(scanner: DlpScanner, options: ScanCacheOptions = {}): DlpScanner {
  const maxEntries = options.maxEntries ?? 4096
  const maxInputLength = options.maxInputLength ?? 1024
  const memo = new Map<string, DlpFinding[]>()

  const remember = (key: string, length: number, scan: () => DlpFinding[]): DlpFinding[] => {
    if (length > maxInputLength) return scan()
    const known = memo.get(key)
    if (known) return known.map((f) => ({ ...f }))
    const findings = scan()
    memo.set(key, findings.map((f) => ({ ...f })))
    if (memo.size > maxEntries) memo.delete(memo.keys().next().value as string)
    return findings
  }

  return {
    scanText: (text, location) => remember(`t\0${location}\0${text}`, text.length, () => scanner.scanText(text, location)),
    scanHost: (host, location) => remember(`h\0${location ?? ''}\0${host}`, host.length, () => scanner.scanHost(host, location)),
    scanUrl: (url, location) => {
      const href = url.href
      return remember(`u\0${location ?? ''}\0${href}`, href.length, () => scanner.scanUrl(url, location))
    },
    scanJoined: (fields, location) => {
      const key = `j\0${location}\0${fields.join('\u0001')}`
      return remember(key, key.length, () => scanner.scanJoined(fields, location))
    },
    scanBody: (input, location) => scanner.scanBody(input, location),
  }
}
