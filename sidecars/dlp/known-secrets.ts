/**
 * The bottle's own secret values (the tokens its routes inject), matched
 * exactly wherever they appear: as is, as hex (either case), and as base64
 * or base64url at each of the three byte alignments a value can take inside
 * longer base64. URL-encoded, escaped and nested forms are reached through
 * normalization and the decode layers, which run these needles again on
 * every decoded text.
 *
 * Values shorter than MIN_KNOWN_SECRET_LENGTH are ignored: a 4-character
 * "secret" occurs by chance in ordinary text and, worse, its base64 forms
 * shrink to 2-3 characters that occur in every encoded body, so it would
 * block everything while protecting nothing (such a value is guessable
 * anyway).
 */
import { Buffer } from 'node:buffer'
import { normalize } from './normalize.js'

export const MIN_KNOWN_SECRET_LENGTH = 8

export interface KnownSecretHit {
  index: number
  /** Length of the form found (the value, or its encoding). */
  length: number
  /** The form the value was found in: undefined (as is), `hex` or `base64`. */
  encoding: 'hex' | 'base64' | undefined
}

export interface KnownSecrets {
  readonly size: number
  /** Each needle that occurs in `text`, at its first occurrence. */
  find(text: string): KnownSecretHit[]
  /** Hostnames are case-insensitive and dot-separated: compare folded, with the dots removed. */
  findInHostname(host: string): Pick<KnownSecretHit, 'encoding'> | undefined
}

interface Needle {
  text: string
  encoding: KnownSecretHit['encoding']
}

/**
 * The characters of base64(pad + value) that depend on the value alone:
 * with 1 or 2 bytes before it, the first 2 or 3 characters mix in the
 * neighbour, and the last character does when the value does not end on a
 * 3-byte boundary.
 */
function base64Cores(value: Buffer, alphabet: 'base64' | 'base64url'): string[] {
  const out: string[] = []
  for (let align = 0; align < 3; align++) {
    const padded = Buffer.concat([Buffer.alloc(align), value])
    let encoded = padded.toString(alphabet).replace(/=+$/, '')
    if (padded.length % 3 !== 0) encoded = encoded.slice(0, -1)
    out.push(encoded.slice([0, 2, 3][align]))
  }
  return out
}

function needlesFor(value: string): Needle[] {
  const forms = new Set([value, normalize(value)])
  const out: Needle[] = []
  for (const form of forms) {
    const bytes = Buffer.from(form, 'utf8')
    out.push({ text: form, encoding: undefined })
    const hex = bytes.toString('hex')
    out.push({ text: hex, encoding: 'hex' }, { text: hex.toUpperCase(), encoding: 'hex' })
    for (const core of [...base64Cores(bytes, 'base64'), ...base64Cores(bytes, 'base64url')]) out.push({ text: core, encoding: 'base64' })
  }
  const seen = new Set<string>()
  return out.filter((n) => n.text.length >= MIN_KNOWN_SECRET_LENGTH && !seen.has(n.text) && seen.add(n.text))
}

export function compileKnownSecrets(values: readonly string[]): KnownSecrets {
  const usable = [...new Set(values)].filter((v) => v.length >= MIN_KNOWN_SECRET_LENGTH)
  const needles = usable.flatMap(needlesFor)
  const hostNeedles = needles.map((n) => ({ text: n.text.toLowerCase().replace(/\./g, ''), encoding: n.encoding }))
  return {
    size: usable.length,
    find(text) {
      const hits: KnownSecretHit[] = []
      if (text.length < MIN_KNOWN_SECRET_LENGTH) return hits
      for (const needle of needles) {
        const index = text.indexOf(needle.text)
        if (index >= 0) hits.push({ index, length: needle.text.length, encoding: needle.encoding })
      }
      return hits
    },
    findInHostname(host) {
      const folded = host.toLowerCase().replace(/\./g, '')
      const needle = hostNeedles.find((n) => folded.includes(n.text))
      return needle ? { encoding: needle.encoding } : undefined
    },
  }
}
