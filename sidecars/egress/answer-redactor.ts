/**
 * What the agent must never read in an answer: every secret value of the
 * Bottle (secrets.json, which holds every credential the proxy injects), in
 * each spelling an echo produces (sidecars/shared/secret-forms.ts).
 *
 * The replacement, decided once here:
 *   - the credential this request carried, when the agent sent one of the
 *     config's placeholders in the request (as its CLI sends the provider
 *     placeholder where a token would go), becomes that placeholder, written
 *     in the same form (percent-encoded, JSON-escaped): an origin echoing the
 *     request then shows the agent exactly what it sent;
 *   - every other value, and any base64 spelling (a value inside longer
 *     base64 cannot be swapped for another without breaking what surrounds
 *     it), becomes the fixed marker `BOTTLE-REDACTED`: plainly not a secret,
 *     and safe inside a URL, a cookie, a JSON string and a header.
 * The rule a redaction is logged under is `injected-credential` for the
 * value injected into this very request and `known-secret` for the rest.
 *
 * Search is Buffer.indexOf per spelling (memchr speed; one pass per spelling
 * over each chunk, no per-byte JavaScript). A stream holds back only the
 * bytes at the end of a chunk that begin some spelling, so a value split
 * across chunks is still caught, while an answer that does not end in the
 * beginning of a secret (nearly all) is passed on without delay: a server-sent
 * event is not held until the next one.
 */
import { Buffer } from 'node:buffer'
import { inForm, spellingsOf, type SecretForm } from '../shared/secret-forms.js'

export const REDACTED_MARKER = 'BOTTLE-REDACTED'

export type RedactionRule = 'known-secret' | 'injected-credential'

/** Redactions made so far, per rule. */
export type RedactionTally = Record<RedactionRule, number>

export function newTally(): RedactionTally {
  return { 'known-secret': 0, 'injected-credential': 0 }
}

export function tallyTotal(tally: RedactionTally): number {
  return tally['known-secret'] + tally['injected-credential']
}

export interface RequestSecrets {
  /** The slot whose value this request carries (route auth), if any. */
  injectedSlot?: string | undefined
  /** The agent's own request headers, flat raw list: where its placeholder shows. */
  agentHeaders: readonly string[]
}

export interface AnswerSecrets {
  /** The redactor for the answer to one request. Cached: cheap on every request. */
  forRequest(request: RequestSecrets): AnswerRedactor
}

export interface AnswerRedactor {
  /** A header value (Node's latin1 string); the same string when nothing matched. */
  redactHeader(value: string, tally: RedactionTally): string
  /** A whole payload; the same buffer when nothing matched. */
  redactBytes(payload: Buffer, tally: RedactionTally): Buffer
  /** Incremental redaction of one body or message. */
  stream(): StreamRedactor
}

export interface StreamRedactor {
  readonly tally: RedactionTally
  /** What may go to the agent now (possibly empty, possibly `chunk` itself). */
  write(chunk: Buffer): Buffer
  /** The held-back rest, at the end of the body or message. */
  end(): Buffer
}

interface Needle {
  bytes: Buffer
  /** The same bytes as Node presents header values. */
  latin1: string
  form: SecretForm
  /** Index into the distinct values. */
  value: number
}

interface Variant {
  rules: RedactionRule[]
  replacements: Buffer[]
  replacementsLatin1: string[]
}

interface FirstByteGroup {
  byte: number
  /** Longest spelling starting with `byte`. */
  longest: number
  needles: Buffer[]
}

const EMPTY = Buffer.alloc(0)

/** Undefined when no value is long enough to redact: the answer path then stays as it is. */
export function compileAnswerSecrets(secrets: ReadonlyMap<string, string>, placeholders: readonly string[]): AnswerSecrets | undefined {
  const values: string[] = []
  const valueOfSlot = new Map<string, number>()
  const needles: Needle[] = []
  for (const [slot, value] of secrets) {
    let index = values.indexOf(value)
    if (index < 0) {
      const spellings = spellingsOf(value)
      if (spellings.length === 0) continue
      index = values.push(value) - 1
      for (const spelling of spellings) {
        const bytes = Buffer.from(spelling.text, 'utf8')
        needles.push({ bytes, latin1: bytes.toString('latin1'), form: spelling.form, value: index })
      }
    }
    valueOfSlot.set(slot, index)
  }
  if (needles.length === 0) return undefined
  // Longest first: where two spellings start at the same byte, the longer one is replaced.
  needles.sort((a, b) => b.bytes.length - a.bytes.length)
  const groups = firstByteGroups(needles)

  const variants = new Map<string, AnswerRedactor>()
  const variant = (injected: number, placeholder: string | undefined): AnswerRedactor => {
    const key = `${injected}\0${placeholder ?? ''}`
    let redactor = variants.get(key)
    if (!redactor) {
      const rules = needles.map((n): RedactionRule => (n.value === injected ? 'injected-credential' : 'known-secret'))
      const replacements = needles.map((n) => Buffer.from(n.value === injected && placeholder !== undefined && n.form !== 'base64' ? inForm(n.form, placeholder) : REDACTED_MARKER, 'utf8'))
      redactor = createRedactor(needles, groups, { rules, replacements, replacementsLatin1: replacements.map((r) => r.toString('latin1')) })
      variants.set(key, redactor)
    }
    return redactor
  }
  const plain = variant(-1, undefined)

  return {
    forRequest(request) {
      const injected = request.injectedSlot === undefined ? undefined : valueOfSlot.get(request.injectedSlot)
      if (injected === undefined) return plain
      return variant(injected, placeholderSent(request.agentHeaders, placeholders))
    },
  }
}

/** The placeholder the agent sent: in Authorization first (where a token goes), else in any header. */
function placeholderSent(headers: readonly string[], placeholders: readonly string[]): string | undefined {
  if (placeholders.length === 0) return undefined
  let elsewhere: string | undefined
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const value = headers[i + 1] as string
    const found = placeholders.find((p) => value.includes(p))
    if (found === undefined) continue
    if ((headers[i] as string).toLowerCase() === 'authorization') return found
    elsewhere ??= found
  }
  return elsewhere
}

function firstByteGroups(needles: readonly Needle[]): FirstByteGroup[] {
  const groups = new Map<number, FirstByteGroup>()
  for (const needle of needles) {
    const byte = needle.bytes[0] as number
    let group = groups.get(byte)
    if (!group) groups.set(byte, (group = { byte, longest: 0, needles: [] }))
    group.longest = Math.max(group.longest, needle.bytes.length)
    group.needles.push(needle.bytes)
  }
  return [...groups.values()]
}

function createRedactor(needles: readonly Needle[], groups: readonly FirstByteGroup[], variant: Variant): AnswerRedactor {
  const shortest = Math.min(...needles.map((n) => n.bytes.length))
  const next: number[] = new Array<number>(needles.length).fill(-1)

  /**
   * Replace every spelling in `buf`; with `hold`, keep back the end of `buf`
   * that begins a spelling (its length is returned as `held`).
   */
  const redact = (buf: Buffer, hold: boolean, tally: RedactionTally): { out: Buffer; held: number } => {
    if (buf.length < shortest && !hold) return { out: buf, held: 0 }
    for (let i = 0; i < needles.length; i++) next[i] = buf.indexOf((needles[i] as Needle).bytes)
    let pieces: Buffer[] | undefined
    let pos = 0
    for (;;) {
      let best = -1
      let at = Number.MAX_SAFE_INTEGER
      for (let i = 0; i < needles.length; i++) {
        const found = next[i] as number
        if (found !== -1 && found < at) {
          at = found
          best = i
        }
      }
      if (best < 0) break
      pieces ??= []
      pieces.push(buf.subarray(pos, at), variant.replacements[best] as Buffer)
      tally[variant.rules[best] as RedactionRule]++
      pos = at + (needles[best] as Needle).bytes.length
      for (let i = 0; i < needles.length; i++) {
        const found = next[i] as number
        if (found !== -1 && found < pos) next[i] = buf.indexOf((needles[i] as Needle).bytes, pos)
      }
    }
    const held = hold ? heldBack(buf, pos, groups) : 0
    const end = buf.length - held
    if (!pieces) return { out: end === buf.length ? buf : buf.subarray(0, end), held }
    pieces.push(buf.subarray(pos, end))
    return { out: Buffer.concat(pieces), held }
  }

  return {
    redactHeader(value, tally) {
      if (value.length < shortest) return value
      let out = value
      for (let i = 0; i < needles.length; i++) {
        const needle = (needles[i] as Needle).latin1
        if (!out.includes(needle)) continue
        const parts = out.split(needle)
        tally[variant.rules[i] as RedactionRule] += parts.length - 1
        out = parts.join(variant.replacementsLatin1[i] as string)
      }
      return out
    },
    redactBytes(payload, tally) {
      return redact(payload, false, tally).out
    },
    stream() {
      let carry = EMPTY
      const tally = newTally()
      return {
        tally,
        write(chunk) {
          const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk])
          const { out, held } = redact(buf, true, tally)
          // A copy: the held bytes must not pin the whole chunk they came in.
          carry = held === 0 ? EMPTY : Buffer.from(buf.subarray(buf.length - held))
          return out
        },
        end() {
          if (carry.length === 0) return EMPTY
          const { out } = redact(carry, false, tally)
          carry = EMPTY
          return out
        },
      }
    },
  }
}

/**
 * How many bytes at the end of `buf` (after `from`) are the beginning of
 * some spelling: the longest such suffix. memchr for each spelling's first
 * byte in the last few bytes, then one compare per candidate.
 */
function heldBack(buf: Buffer, from: number, groups: readonly FirstByteGroup[]): number {
  const length = buf.length
  let best = length
  for (const group of groups) {
    let i = buf.indexOf(group.byte, Math.max(from, length - group.longest + 1))
    while (i !== -1 && i < best) {
      const rest = length - i
      if (group.needles.some((n) => n.length > rest && buf.compare(n, 0, rest, i, length) === 0)) {
        best = i
        break
      }
      i = buf.indexOf(group.byte, i + 1)
    }
  }
  return length - best
}
