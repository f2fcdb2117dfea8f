/** `Content-Type` and `Content-Encoding` header values, parsed just enough to pick a body parser. */

export interface MediaType {
  /** `type/subtype`, lower-cased; empty when absent or unparseable. */
  essence: string
  params: ReadonlyMap<string, string>
}

const PARAM = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g

export function parseMediaType(value: string | undefined): MediaType {
  if (!value) return { essence: '', params: new Map() }
  const semi = value.indexOf(';')
  const essence = (semi >= 0 ? value.slice(0, semi) : value).trim().toLowerCase()
  const params = new Map<string, string>()
  if (semi >= 0) {
    for (const m of value.slice(semi).matchAll(PARAM)) {
      const name = (m[1] as string).toLowerCase()
      if (!params.has(name)) params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''))
    }
  }
  return { essence: /^[\w.+-]+\/[\w.+-]+$/.test(essence) ? essence : '', params }
}

export function isJsonType(essence: string): boolean {
  return essence === 'application/json' || essence === 'text/json' || essence.endsWith('+json')
}

/** One JSON value per record: NDJSON, JSON lines, JSON text sequences (RFC 7464). */
const JSON_LINES_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonl', 'application/jsonlines', 'application/x-jsonlines', 'application/json-seq'])

export function isJsonLinesType(essence: string): boolean {
  return JSON_LINES_TYPES.has(essence)
}

/** Codings the engine names in a refusal; anything else is "unrecognized" so a header value is never echoed. */
const KNOWN_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'zstd', 'compress', 'x-compress', 'dcb', 'dcz', 'aes128gcm', 'exi', 'pack200-gzip'])

/** Undefined when every listed coding is identity (or none is listed); otherwise why the body cannot be read. */
export function unreadableContentEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  for (const raw of value.split(',')) {
    const coding = raw.trim().toLowerCase()
    if (coding === '' || coding === 'identity') continue
    return KNOWN_CODINGS.has(coding)
      ? `content-encoding ${coding} is not inspected`
      : 'an unrecognized content-encoding is not inspected'
  }
  return undefined
}
