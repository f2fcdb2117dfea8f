/**
 * Secrets split over several fields: query parameters, header values, a
 * header's name and its value, path segments, JSON array elements and
 * sibling members, form fields, multipart parts, DNS labels, consecutive
 * WebSocket messages, or the same field of consecutive requests. A receiver
 * that concatenates them in order holds the secret, so the engine reads the
 * concatenation too ("the join") and reports what crosses a field boundary
 * (what sits inside one field was found by that field's own scan).
 *
 * What the join reads, per field: the text the receiver gets (decoded,
 * normalized), cut to its edges, since a secret that crosses a boundary
 * sits at one: at each end, the stretch without spaces that touches the
 * boundary (hex bytes separated by spaces run on; at most JOIN_REACH
 * characters) and CONTEXT characters more. Then:
 *
 * 1. known secrets (and their hex and base64 forms) by substring;
 * 2. credential patterns, where a field boundary counts as a token boundary:
 *    from each keyword near a boundary (or a field start within the
 *    pattern's `keywordLead` before it) the pattern is tried over its
 *    reach; when that fails and the pattern closes with a lookahead, the
 *    pattern without it says how far a match could go, and the field ends
 *    up to there are tried as ends, so neither a letter ending the previous
 *    field nor one opening the next hides the match;
 * 3. stretches of encoding characters (base64, base32, hex) that a boundary
 *    cuts and that look encoded, decoded whole and cut at the boundaries
 *    inside them, through every layer the engine reads; escape sequences
 *    (`\x41`) cut by a boundary, decoded with their surroundings;
 * 4. a second join of the fields decoded one by one, for a secret split
 *    first and then encoded piece by piece;
 * 5. when a field ends inside a percent-escape, the raw join normalized
 *    whole (`%4` + `1...` is `A...` only when joined).
 *
 * Cost: the join is at most (fields x 2 x (JOIN_REACH + CONTEXT))
 * characters, read by one keyword pass (which also says where each keyword
 * starts), the known-secret search and one pass for encoding
 * stretches; the rest of the work happens only at boundaries where a
 * keyword, an encoded-looking stretch or an escape sits, and is charged to
 * a budget of its own (16 characters per character joined, plus 64 Ki),
 * past which SCAN_LIMIT_RULE is reported (fail closed).
 */
import { credentialSpan, withoutClosingLookaheads } from './pattern-shape.js'
import { CREDENTIAL_PATTERNS } from './credential-patterns.js'
import { byteClass, classRuns, type ByteClass } from './byte-scan.js'
import { byteViewOf, decodeEscapes, decodeVariants, findSpreadRuns, looksEncoded, OCTAL_ESCAPE, stretchProfile, type DecodeBudget } from './decode-variants.js'
import { decodeBudgetFor, detectLayer, inspectBelowSurface, SCAN_LIMIT_RULE, type Detectors, type ReportHit } from './inspect-layers.js'
import { isKnownPlaceholder } from './known-placeholders.js'
import { compileKeywordAutomaton, type KeywordAutomaton } from './keyword-automaton.js'
import { normalize } from './normalize.js'
import type { CredentialPattern } from './types.js'

/**
 * Put between name-value pairs in a join of pairs: a name is joined to its
 * own value, never to the value before it (`p1` between two halves of a
 * token would otherwise lengthen a match). No token format holds a tab,
 * normalization keeps it, and unlike a line break it makes no two pairs
 * look like lines of wrapped base64.
 */
export const PAIR_SEPARATOR = '\t'

/** How much of a value a pair join keeps: a secret that starts in the name ends early in the value. */
const PAIR_VALUE_HEAD = 512

/**
 * A join of name-value pairs, each name next to the head of its value and
 * the pairs kept apart. What else a value holds is the values join's and
 * its own scan's concern.
 */
export function pairFields(pairs: readonly (readonly [name: string, value: string])[]): string[] {
  const out: string[] = []
  for (const [name, value] of pairs) {
    if (out.length > 0) out.push(PAIR_SEPARATOR)
    out.push(name, value.length > PAIR_VALUE_HEAD ? value.slice(0, PAIR_VALUE_HEAD) : value)
  }
  return out
}

/** How far from a field boundary a piece of a split secret is looked for: its encoded form may be many times its length. */
export const JOIN_REACH = 2048
/** The longest match a credential pattern makes, past its keyword (PEM blocks and JWTs are the long ones). */
const MAX_TOKEN = 1024
/** Field ends tried per slice start: a secret split into more pieces than this after its keyword is not reassembled. */
const MAX_SLICE_ENDS = 48
/** Field starts tried before a keyword, for patterns whose matches open before it. */
const MAX_SLICE_STARTS = 8
/** What one anchored try of a pattern is charged: it fails within a few characters, or matches a token. */
const STICKY_TRY_COST = 64
/** Cuts tried at each end of an encoded stretch. */
const MAX_STRETCH_CUTS = 2
/** An encoded secret of 8 bytes or more is 12+ characters; split, with a neighbour, a stretch is longer. */
const MIN_ENCODED_STRETCH = 16
/** A field cut to its head and tail is bridged by this, which no credential pattern or encoding reads through. */
const CUT = '\n\u0000\n'

interface Joined {
  text: string
  /** Offset where each field starts in `text`; ascending. */
  starts: number[]
  /** Offset just past each field's end. */
  ends: number[]
  /** `text` one byte per character (`charBytesOf`) when long enough for the byte passes (made once, shared by them). */
  bytes?: Uint8Array | undefined
  /** What the join keeps of its fields holds nothing normalization acts on (the cuts between a field's head and tail aside); unset: not known. */
  plain?: boolean
}

/**
 * How much of a field's end a join keeps: the stretch without spaces that
 * touches the boundary (a token, an encoding, wrapped lines of one) plus
 * CONTEXT characters for what a pattern reads before or after it (`key = `),
 * within JOIN_REACH. A field of prose that ends in a sentence keeps
 * CONTEXT characters; most of a long field is that field's own concern.
 * Blanks between the values of a spread-out encoding (`41 4b`, `0x41, 0x4b`,
 * `103, 104`, `od` columns) do not end the stretch, and a blank at the
 * field's very edge may be one: the other field holds the value before it.
 */
function edgeLength(field: string, fromEnd: boolean): number {
  const n = field.length
  if (n <= CONTEXT) return n
  const limit = Math.min(n, JOIN_REACH)
  const at = (i: number) => field.charCodeAt(fromEnd ? n - 1 - i : i)
  // A value on that side of a blank: a hex digit, or one behind a list separator; past the field's
  // edge, the other field's (unknown here, so it may be).
  const valueAt = (i: number, step: number): boolean => {
    if (i < 0) return true
    const c = at(i)
    if (isHexDigit(c)) return true
    return (c === 44 || c === 58 || c === 59) && (i + step < 0 || isHexDigit(at(i + step)))
  }
  let k = 0
  while (k < limit) {
    const c = at(k)
    if (c === 32 || c === 9) {
      let next = k + 1
      while (next < limit && (at(next) === 32 || at(next) === 9)) next++
      if (!(valueAt(k - 1, -1) && valueAt(next, 1))) break
      k = next
      continue
    }
    k++
  }
  return Math.min(limit, k + CONTEXT)
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
}

/** Characters kept beyond the stretch that touches a boundary, for a pattern's context. */
const CONTEXT = 64

function join(fields: readonly string[]): Joined {
  let text = ''
  let plain = true
  const starts: number[] = []
  const ends: number[] = []
  for (const field of fields) {
    starts.push(text.length)
    const head = edgeLength(field, false)
    const tail = edgeLength(field, true)
    if (head + tail + CUT.length >= field.length) {
      plain &&= !NEEDS_NORMALIZING.test(field)
      text += field
    } else {
      const first = field.slice(0, head)
      const last = field.slice(field.length - tail)
      plain &&= !NEEDS_NORMALIZING.test(first) && !NEEDS_NORMALIZING.test(last)
      text += `${first}${CUT}${last}`
    }
    ends.push(text.length)
  }
  return { text, starts, ends, bytes: byteViewOf(text, BYTES_FROM), plain }
}

/** Joins this long get a byte copy for the WebAssembly passes; shorter ones are read as strings. */
const BYTES_FROM = 16384

/** Index of the field holding `offset` (the last field starting at or before it). */
function fieldAt(joined: Joined, offset: number): number {
  let lo = 0
  let hi = joined.starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((joined.starts[mid] as number) <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** Field starts in [from, to), by binary search: joins of many small fields must not cost fields x stretches. */
function fieldStartsIn(joined: Joined, from: number, to: number): number[] {
  const out: number[] = []
  for (let i = fieldAt(joined, from); i < joined.starts.length && (joined.starts[i] as number) < to; i++) {
    if ((joined.starts[i] as number) >= from) out.push(joined.starts[i] as number)
  }
  return out
}

/** Field ends in [from, to). */
function fieldEndsIn(joined: Joined, from: number, to: number): number[] {
  const out: number[] = []
  for (let i = fieldAt(joined, from); i < joined.ends.length && (joined.ends[i] as number) < to; i++) {
    if ((joined.ends[i] as number) >= from) out.push(joined.ends[i] as number)
  }
  return out
}

/** Does [start, end) contain a boundary between two fields (a field end strictly inside it)? */
function crossesBoundary(joined: Joined, start: number, end: number): boolean {
  const i = fieldAt(joined, Math.max(0, start))
  const fieldEnd = joined.ends[i] as number
  return fieldEnd > start && fieldEnd < end
}

interface CompiledJoinPattern {
  pattern: CredentialPattern
  lead: number
  /** Tried at one offset of a slice (lead 0), or searched through it. */
  regex: RegExp
  /**
   * The same pattern without its closing negative lookahead, when it has
   * one: where it matches tells how far a match could reach when the
   * lookahead failed only on the next field's first character.
   */
  relaxed: RegExp | undefined
}

export interface JoinMatcher {
  patterns: readonly CompiledJoinPattern[]
  automaton: KeywordAutomaton
  /** Patterns without keywords, by the run of characters each needs (a membership table by character code). */
  runs: readonly { owner: number; member: Uint8Array; length: number }[]
}

let shared: JoinMatcher | undefined

/** The catalog's patterns and one keyword automaton that reports every occurrence of every keyword. */
export function joinMatcher(patterns: readonly CredentialPattern[] = CREDENTIAL_PATTERNS): JoinMatcher {
  if (patterns === CREDENTIAL_PATTERNS && shared) return shared
  const owners = new Map<string, number[]>()
  const compiled: CompiledJoinPattern[] = patterns.map((p, index) => {
    for (const keyword of p.keywords ?? []) {
      const key = keyword.toLowerCase()
      const list = owners.get(key) ?? []
      if (!list.includes(index)) list.push(index)
      owners.set(key, list)
    }
    // A context that reaches further back than the join's reach is not reassembled (Kubernetes manifests).
    const lead = Math.min(p.keywordLead ?? 0, JOIN_REACH)
    const flags = [...new Set([...p.pattern.flags, 'g', 'd', ...(lead === 0 ? ['y'] : [])])].join('')
    const open = withoutClosingLookaheads(p.pattern.source)
    return { pattern: p, lead, regex: new RegExp(p.pattern.source, flags), relaxed: open === p.pattern.source ? undefined : new RegExp(open, flags) }
  })
  const runs = patterns.flatMap((p, owner) => {
    if (p.keywords?.length || !p.requiresRun) return []
    const { chars, length } = p.requiresRun
    const member = new Uint8Array(128)
    for (let c = 0; c < 128; c++) if (chars.test(String.fromCharCode(c))) member[c] = 1
    return [{ owner, member, length }]
  })
  // Every owner is tracked: the one keyword pass over a join also says where each occurrence starts.
  const matcher = { patterns: compiled, automaton: compileKeywordAutomaton(owners, new Set([...owners.values()].flat())), runs }
  if (patterns === CREDENTIAL_PATTERNS) shared = matcher
  return matcher
}

function charge(budget: DecodeBudget, chars: number, report: ReportHit): boolean {
  if (budget.remaining < chars) {
    if (!budget.exceeded) report(SCAN_LIMIT_RULE, 'join')
    budget.exceeded = true
    return false
  }
  budget.remaining -= chars
  return true
}

const IGNORE_OWNERS = (): void => {}

/** Keyword occurrences (pattern index, start), and field starts that open the long run a keyword-less pattern needs. */
function keywordHits(joined: Joined, matcher: JoinMatcher): [owner: number, start: number][] {
  const hits: [owner: number, start: number][] = []
  // One keyword pass finds every occurrence: a long join of code holds keywords of many patterns, and a
  // search per pattern would read it again for each.
  matcher.automaton.scan(joined.bytes ?? joined.text, IGNORE_OWNERS, (owner, start) => hits.push([owner, start]))
  for (const { owner, member, length } of matcher.runs) {
    for (const start of joined.starts) {
      // Probe the run's last character first: most field starts open no run that long.
      const last = joined.text.charCodeAt(start + length - 1)
      if (!(last < 128 && member[last] === 1)) continue
      let n = 0
      for (; n < length; n++) {
        const c = joined.text.charCodeAt(start + n)
        if (!(c < 128 && member[c] === 1)) break
      }
      if (n === length) hits.push([owner, start])
    }
  }
  return hits
}

interface Span {
  /** Offsets in the join: the whole match and its credential together. */
  from: number
  to: number
}

/** The first match of `regex` in `text[s, e)` that passes the pattern's checks (unless `unchecked`), in join offsets. */
function firstMatch(regex: RegExp, pattern: CredentialPattern, text: string, s: number, e: number, unchecked = false): Span | undefined {
  const slice = text.slice(s, e)
  regex.lastIndex = 0
  for (let m = regex.exec(slice); m !== null; m = regex.sticky ? null : regex.exec(slice)) {
    if (m[0].length === 0) {
      regex.lastIndex++
      continue
    }
    const { at, value } = credentialSpan(m)
    if (!unchecked && pattern.verify && !pattern.verify(value)) continue
    if (!unchecked && isKnownPlaceholder(value)) continue
    return { from: s + Math.min(m.index, at), to: s + Math.max(m.index + m[0].length, at + value.length) }
  }
  return undefined
}

/** A match crossing a boundary, or touching one: its lookahead or lookbehind then read the other field. */
function spansBoundary(joined: Joined, span: Span): boolean {
  return crossesBoundary(joined, span.from - 1, span.to + 1)
}

/**
 * Credential patterns across boundaries (step 2 of the module comment).
 * From each keyword, the pattern is tried over its whole reach; when that
 * fails and the pattern closes with a lookahead, the lookahead may have
 * failed only on the next field's first character, so the pattern without
 * it says how far a match could go, and the field ends up to there are
 * tried. `anywhere`: the text came out of decoding a whole join, its
 * boundaries are unknown, and a match from a keyword counts wherever it is.
 */
function findAcross(joined: Joined, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit, anywhere = false): void {
  const text = joined.text
  const hits = keywordHits(joined, matcher)
  if (hits.length === 0) return
  const tried = new Set<number>()
  for (const [owner, h] of hits) {
    const { pattern, lead, regex, relaxed } = matcher.patterns[owner] as CompiledJoinPattern
    const field = fieldAt(joined, h)
    if (pattern.startsWithKeyword && !opensWord(joined, field, h)) continue
    // A keyword deep inside a long field starts a match that stays inside it: that field's own scan has it.
    if (!anywhere && (joined.ends[field] as number) - h > MAX_TOKEN && h - (joined.starts[field] as number) > lead) continue
    const lo = Math.max(0, h - lead)
    const starts = lead === 0 ? [h] : [lo, ...fieldStartsIn(joined, lo + 1, h + 1).slice(-MAX_SLICE_STARTS)]
    const limit = Math.min(text.length, h + MAX_TOKEN)
    for (const s of starts) {
      const key = owner * 0x100000000 + s
      if (tried.has(key)) continue
      tried.add(key)
      if (!charge(budget, regex.sticky ? STICKY_TRY_COST : limit - s, report)) return
      const whole = firstMatch(regex, pattern, text, s, limit)
      if (whole) {
        if (anywhere || spansBoundary(joined, whole)) {
          report(pattern.id, undefined)
          break
        }
        continue
      }
      if (anywhere || !relaxed) continue
      // How far a match could reach: the checks would judge the overlong match, not the one a boundary cuts.
      const reach = firstMatch(relaxed, pattern, text, s, limit, true)
      if (!reach) continue
      for (const e of joined.ends.slice(field, field + MAX_SLICE_ENDS)) {
        if (e <= h) continue
        if (e > reach.to) break
        if (!charge(budget, regex.sticky ? STICKY_TRY_COST : e - s, report)) return
        const span = firstMatch(regex, pattern, text, s, e)
        if (span && spansBoundary(joined, span)) {
          report(pattern.id, undefined)
          break
        }
      }
    }
  }
}

const LOWER_OR_DIGIT = /[a-z0-9]/
const ALNUM = /[A-Za-z0-9]/
const UPPER = /[A-Z]/

/**
 * Whether a keyword at `h` opens a word: at a field's start, after a
 * separator, or at a camelCase step (`userPassword`). Joined fields glue
 * words together, and an everyday keyword such as `pass` is spelled by two
 * of them ("map" + "assistant" in a chat request) far more often than an
 * agent splits a name mid-word; a split that does (`dbpa` + `ssword=`)
 * gains nothing anyway, since the value alone, without any name, is just as
 * easy to send.
 */
function opensWord(joined: Joined, field: number, h: number): boolean {
  // Keywords of punctuation (`://`) glue to the word before them by design.
  if (joined.starts[field] === h || h === 0 || !ALNUM.test(joined.text[h] as string)) return true
  const before = joined.text[h - 1] as string
  if (!ALNUM.test(before)) return true
  return LOWER_OR_DIGIT.test(before) && UPPER.test(joined.text[h] as string)
}

/** A text decoded from a whole join: its boundaries are unknown, so matches are tried from each keyword on. */
function findAtKeywords(text: string, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  findAcross({ text, starts: [0], ends: [text.length], bytes: byteViewOf(text) }, matcher, budget, report, true)
}

/** Characters of the base64, base32 and hex alphabets (with padding): what an encoded piece is made of. */
const ENCODED_CHAR = new Uint8Array(128)
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-=') ENCODED_CHAR[ch.charCodeAt(0)] = 1

let encodedBytes: ByteClass | undefined

/**
 * Maximal stretches of encoding characters that a boundary cuts. One pass
 * over the join; a stretch holding no boundary costs nothing more.
 */
function stretchesAcross(joined: Joined): { start: number; end: number; contiguous?: boolean }[] {
  // Wrapped base64 and separated hex hold line breaks, spaces or colons: they are found as runs of their own.
  const bytes = joined.bytes
  const out: { start: number; end: number; contiguous?: boolean }[] = findSpreadRuns(joined.text, bytes).filter((r) => {
    if (!crossesBoundary(joined, r.start, r.end)) return false
    if (r.kind !== 'base64-lines') return true
    const bare = joined.text.slice(r.start, r.end).replace(/\s+/g, '')
    return looksEncoded(bare, 0, bare.length)
  })
  const text = joined.text
  // Padding closes an encoding: the tests read the characters before it, and decoders do not need it.
  const push = (start: number, end: number) => {
    let last = end
    while (last > start && text.charCodeAt(last - 1) === 61) last--
    if (last - start >= 12 && crossesBoundary(joined, start, last)) out.push({ start, end: last, contiguous: true })
  }
  if (bytes) {
    // Long ASCII joins: the SIMD class pass finds the stretches.
    encodedBytes ??= byteClass((c) => c < 128 && ENCODED_CHAR[c] === 1)
    classRuns(bytes, encodedBytes, 12, push)
    return out
  }
  let start = -1
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0
    if (c < 128 && ENCODED_CHAR[c] === 1) {
      if (start < 0) start = i
      continue
    }
    if (start >= 0) push(start, i)
    start = -1
  }
  return out
}

/**
 * Lower-case letters only, a third of them vowels: words run together
 * (`pathassistantconst`), which no encoding of a secret looks like (base64
 * mixes cases, hex and base32 hold digits or few vowels).
 */
function isWords(text: string, start: number, end: number): boolean {
  let vowels = 0
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c < 97 || c > 122) return false
    if (c === 97 || c === 101 || c === 105 || c === 111 || c === 117) vowels++
  }
  return vowels * 4 >= end - start
}

/** Decode `text` through every layer and report what the decodings hold (a cut through compressed data says nothing). */
function inspectDecoded(text: string, detectors: Detectors, budget: DecodeBudget, report: ReportHit): void {
  for (const variant of decodeVariants(text, budget)) {
    if ('problem' in variant) {
      if (variant.problem === 'too-large') report(SCAN_LIMIT_RULE, variant.kind)
      continue
    }
    for (const hit of detectLayer(variant.text, detectors)) report(hit.rule, hit.encoding ? `${variant.kind}+${hit.encoding}` : variant.kind)
    if (variant.printable) inspectBelowSurface(variant.text, [variant.kind], 1, detectors, budget, report)
    if (budget.exceeded) return
  }
}

/** A run of escapes, e.g. `\x41\x4b`, `\101\113`, `\u0041`, `&#65;`. */
const ESCAPE_RUN = /(?:\\x[0-9A-Fa-f]{2}|\\[0-3][0-7]{2}|\\u[0-9A-Fa-f]{4}|\\u\{[0-9A-Fa-f]{1,6}\}|&#[xX]?[0-9A-Fa-f]{1,7};?)+/g
/** How much text around an escape run cut by a boundary is decoded with it. */
const ESCAPE_CONTEXT = 512

/** Step 3 of the module comment: encoded stretches and escape runs that boundaries cut. */
function decodeAcross(joined: Joined, detectors: Detectors, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  const text = joined.text
  if (text.includes('\\x') || text.includes('\\u') || text.includes('&#') || OCTAL_ESCAPE.test(text)) {
    let covered = -1
    for (const m of text.matchAll(ESCAPE_RUN)) {
      const end = m.index + m[0].length
      if (end <= covered || !crossesBoundary(joined, m.index - 1, end + 1)) continue
      const from = Math.max(0, m.index - ESCAPE_CONTEXT)
      covered = Math.min(text.length, end + ESCAPE_CONTEXT)
      const unescaped = decodeEscapes(text.slice(from, covered))
      if (unescaped === undefined || !charge(budget, unescaped.length, report)) continue
      for (const hit of detectLayer(unescaped, detectors)) report(hit.rule, hit.encoding ? `escaped+${hit.encoding}` : 'escaped')
      inspectBelowSurface(unescaped, ['escaped'], 1, detectors, budget, report)
      findAtKeywords(normalize(unescaped), matcher, budget, (rule) => report(rule, 'escaped'))
    }
  }
  for (const stretch of stretchesAcross(joined)) {
    // The whole stretch, and cut at the first few boundaries inside it from either end: a piece's
    // encoding starts at a field start or ends at a field end, and whatever sits before or after it
    // in the same stretch is what the cut removes.
    if (stretch.contiguous && (stretch.end - stretch.start < MIN_ENCODED_STRETCH || isWords(text, stretch.start, stretch.end))) continue
    const cuts: [number, number][] = [[stretch.start, stretch.end]]
    for (const from of fieldStartsIn(joined, stretch.start + 1, stretch.end).slice(0, MAX_STRETCH_CUTS)) cuts.push([from, stretch.end])
    for (const to of fieldEndsIn(joined, stretch.start + 1, stretch.end).slice(-MAX_STRETCH_CUTS)) cuts.push([stretch.start, to])
    const looks = stretch.contiguous ? stretchProfile(text, stretch.start, stretch.end) : undefined
    for (const [from, to] of cuts) {
      if (!crossesBoundary(joined, from, to) || (looks && !looks(from, to))) continue
      inspectDecoded(text.slice(from, to), detectors, budget, report)
      if (budget.exceeded) return
    }
  }
}

/** A field that is one encoded run end to end (or holds escapes), decoded; undefined otherwise. */
const WHOLE_ENCODED = /^[A-Za-z0-9+/_-]{8,}={0,2}$/

function decodedField(field: string, budget: DecodeBudget): string | undefined {
  if (field.includes('\\') || field.includes('&#')) {
    const unescaped = decodeEscapes(field)
    if (unescaped !== undefined) return unescaped
  }
  const trimmed = field.trim()
  if (trimmed.length < 12 || !WHOLE_ENCODED.test(trimmed)) return undefined
  const bare = trimmed.replace(/=+$/, '')
  if (!looksEncoded(bare, 0, bare.length)) return undefined
  for (const variant of decodeVariants(bare, budget)) {
    if (!('problem' in variant) && variant.printable) return variant.text
  }
  return undefined
}

/** Known secrets and credential patterns across the boundaries of one join (steps 1 and 2). */
function inspectAcross(joined: Joined, detectors: Detectors, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  // First occurrences suffice: a known secret whose first occurrence sits inside one field was found by that field's scan.
  if (detectors.knownSecrets.size > 0) for (const hit of detectors.knownSecrets.find(joined.text)) {
    if (crossesBoundary(joined, hit.index, hit.index + hit.length)) report('known-secret', hit.encoding)
  }
  findAcross(joined, matcher, budget, report)
}

/** What normalization acts on (see normalize.ts): fields without it are read as they are, without a call. */
const NEEDS_NORMALIZING = /[^\t\n\r\x20-\x24\x26-\x7e]/

/** How much of each end of a field is normalized for the join: a split piece sits at an end. */
const NORMALIZED_EDGE = JOIN_REACH

/**
 * A field as the join reads it: normalized (percent-decoded, invisible
 * characters removed, Unicode folded) at its ends, where the pieces of a
 * split secret are. The middle of a long field is another field's concern,
 * and normalizing a whole body twice is most of what a join would cost.
 */
function edgesNormalized(field: string): string {
  if (field.length <= 2 * NORMALIZED_EDGE) return NEEDS_NORMALIZING.test(field) ? normalize(field) : field
  const head = field.slice(0, NORMALIZED_EDGE)
  const tail = field.slice(-NORMALIZED_EDGE)
  const headActed = NEEDS_NORMALIZING.test(head)
  const tailActed = NEEDS_NORMALIZING.test(tail)
  if (!headActed && !tailActed) return field
  const middle = field.slice(NORMALIZED_EDGE, -NORMALIZED_EDGE)
  return `${headActed ? normalize(head) : head}${middle}${tailActed ? normalize(tail) : tail}`
}

/** A field ending inside a percent-escape, or whose escapes decode to a broken character: only the whole join reads right. */
const CUT_ESCAPE = /%[0-9A-Fa-f]?$/

/**
 * Findings that only the concatenation of `fields`, in order, reveals.
 * `report` gets the rule and the encoding chain. `plain`: the caller knows
 * no field holds anything normalization acts on.
 */
export function inspectJoin(fields: readonly string[], detectors: Detectors, matcher: JoinMatcher, report: ReportHit, plain = false): void {
  if (fields.length < 2) return
  const raw = join(fields)
  // Most joins hold nothing normalization acts on (`plain`: the caller knows the document has none). The
  // cut inside a long field is the join's own, so it is not asked about (it holds a NUL, which is).
  const readable = !plain && !raw.plain ? fields.map(edgesNormalized) : fields
  const joined = readable === fields ? raw : join(readable)
  if (joined.text.length < 8) return
  const budget = decodeBudgetFor(joined.text.length)
  inspectAcross(joined, detectors, matcher, budget, report)
  // Normalization decodes percent-escapes to a fixpoint; a token that holds `%` itself is read as the fields are, too.
  if (joined !== raw) inspectAcross(raw, detectors, matcher, budget, report)
  decodeAcross(joined, detectors, matcher, budget, report)

  // A receiver may concatenate first and decode after.
  if (fields.some((f, i) => CUT_ESCAPE.test(f) || CUT_ESCAPE.test(readable[i] as string) || (readable[i] as string).includes('\uFFFD'))) {
    const whole = normalize(raw.text)
    if (whole !== joined.text && charge(budget, whole.length, report)) {
      for (const hit of detectLayer(whole, detectors)) report(hit.rule, hit.encoding ? `joined+${hit.encoding}` : 'joined')
      inspectBelowSurface(whole, ['joined'], 0, detectors, budget, report)
      findAtKeywords(whole, matcher, budget, (rule) => report(rule, 'joined'))
    }
  }

  // Split first, then each piece encoded: join the pieces' decodings.
  const decoded = readable.map((f) => decodedField(f, budget))
  if (decoded.some((d) => d !== undefined)) {
    const chain = 'decoded-fields'
    const pieces = join(decoded.map((d, i) => d ?? (readable[i] as string)))
    const reportPieces: ReportHit = (rule, encoding) => report(rule, encoding ? `${chain}+${encoding}` : chain)
    inspectAcross(pieces, detectors, matcher, budget, reportPieces)
    decodeAcross(pieces, detectors, matcher, budget, reportPieces)
  }
}
