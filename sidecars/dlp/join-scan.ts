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
 * normalized), cut to its first and last JOIN_REACH characters, since a
 * secret that crosses a boundary lies within that reach of it. Then:
 *
 * 1. known secrets (and their hex and base64 forms) by substring;
 * 2. credential patterns, where a field boundary counts as a token boundary:
 *    at each keyword occurrence the pattern is tried on slices that start
 *    at the keyword (or at a field start within the pattern's
 *    `keywordLead` before it) and end at each following field end, so
 *    neither a letter at the end of the previous field nor one at the start
 *    of the next hides the match;
 * 3. encoded runs (base64, base32, hex) that cross a boundary, decoded whole
 *    and cut at the boundaries inside them, through every layer the engine
 *    reads;
 * 4. a second join of the fields decoded one by one, for a secret that was
 *    split first and then encoded piece by piece.
 *
 * Cost: the join is at most (fields x 2 x JOIN_REACH) characters and is
 * read by the same passes as any text; the slices of step 2 are charged to
 * the scan's decode budget (beyond it, SCAN_LIMIT_RULE: fail closed).
 */
import { CREDENTIAL_PATTERNS } from './credential-patterns.js'
import { decodeEscapes, decodeVariants, findEncodedRuns, type DecodeBudget } from './decode-variants.js'
import { detectLayer, inspectBelowSurface, SCAN_LIMIT_RULE, type Detectors, type ReportHit } from './inspect-layers.js'
import { isKnownPlaceholder } from './known-placeholders.js'
import { compileKeywordAutomaton, type KeywordAutomaton } from './keyword-automaton.js'
import { normalize } from './normalize.js'
import type { CredentialPattern } from './types.js'

/**
 * Put between name-value pairs in a join of pairs: a name is joined to its
 * own value, never to the value before it (`p1` between two halves of a
 * token would otherwise lengthen a match). No token format spans a line
 * break, and normalization keeps it.
 */
export const PAIR_SEPARATOR = '\n'

/** A join of name-value pairs, each name next to its value and the pairs kept apart. */
export function pairFields(pairs: readonly (readonly [name: string, value: string])[]): string[] {
  const out: string[] = []
  for (const [name, value] of pairs) {
    if (out.length > 0) out.push(PAIR_SEPARATOR)
    out.push(name, value)
  }
  return out
}

/** How far from a field boundary a secret that crosses it can reach, in characters: longer than any token the catalog knows but PEM blocks. */
export const JOIN_REACH = 4096
/** A field cut to its head and tail is bridged by this, which no credential pattern or encoding reads through. */
const CUT = '\n\u0000\n'

interface Joined {
  text: string
  /** Offset where each field starts in `text`; ascending. */
  starts: number[]
  /** Offset just past each field's end. */
  ends: number[]
}

function join(fields: readonly string[]): Joined {
  let text = ''
  const starts: number[] = []
  const ends: number[] = []
  for (const field of fields) {
    starts.push(text.length)
    text += field.length > 2 * JOIN_REACH ? `${field.slice(0, JOIN_REACH)}${CUT}${field.slice(-JOIN_REACH)}` : field
    ends.push(text.length)
  }
  return { text, starts, ends }
}

/** Does [start, end) contain a boundary between two fields (a field end strictly inside it)? */
function crossesBoundary(joined: Joined, start: number, end: number): boolean {
  // Binary search for the first field end after start.
  let lo = 0
  let hi = joined.ends.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((joined.ends[mid] as number) <= start) lo = mid + 1
    else hi = mid
  }
  const end0 = joined.ends[lo] as number
  return end0 > start && end0 < end
}

interface CompiledJoinPattern {
  pattern: CredentialPattern
  lead: number
  /** Tried at one offset of a slice (lead 0), or searched through it. */
  regex: RegExp
}

export interface JoinMatcher {
  patterns: readonly CompiledJoinPattern[]
  automaton: KeywordAutomaton
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
    const lead = p.keywordLead ?? 0
    const flags = new Set([...p.pattern.flags, 'g', 'd', ...(lead === 0 ? ['y'] : [])])
    return { pattern: p, lead, regex: new RegExp(p.pattern.source, [...flags].join('')) }
  })
  const tracked = new Set(compiled.map((_, i) => i))
  const matcher = { patterns: compiled, automaton: compileKeywordAutomaton(owners, tracked) }
  if (patterns === CREDENTIAL_PATTERNS) shared = matcher
  return matcher
}

/** The credential a regex match stands for: its first capture group when it has one. */
function credentialSpan(m: RegExpExecArray): { at: number; value: string } {
  for (let g = 1; g < m.length; g++) {
    const span = m.indices?.[g]
    if (m[g] !== undefined && span) return { at: span[0], value: m[g] as string }
  }
  return { at: m.index, value: m[0] }
}

/**
 * Credential patterns across boundaries (step 2 of the module comment).
 * `anywhere`: report matches that start at a keyword even when they cross
 * no boundary, for texts whose boundaries decoding has blurred.
 */
function findAcross(joined: Joined, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit, anywhere = false): void {
  const hits: [owner: number, start: number][] = []
  matcher.automaton.scan(joined.text, () => undefined, (owner, start) => hits.push([owner, start]))
  // A pattern with no keyword (it needs a long run of token characters instead) is tried at each field start that opens such a run.
  matcher.patterns.forEach(({ pattern }, owner) => {
    const run = pattern.requiresRun
    if (pattern.keywords?.length || !run) return
    for (const start of joined.starts) {
      const head = joined.text.slice(start, start + run.length)
      if (head.length === run.length && [...head].every((ch) => run.chars.test(ch))) hits.push([owner, start])
    }
  })
  const tried = new Set<string>()
  for (const [owner, h] of hits) {
    const { pattern, lead, regex } = matcher.patterns[owner] as CompiledJoinPattern
    const lo = Math.max(0, h - lead)
    const starts = lead === 0 ? [h] : [lo, ...joined.starts.filter((s) => s > lo && s <= h)]
    for (const s of starts) {
      const key = `${owner}:${s}`
      if (tried.has(key)) continue
      tried.add(key)
      // Ends: every field end past the keyword within reach (or, anywhere, as far as reach goes).
      const ends = anywhere ? [Math.min(joined.text.length, s + JOIN_REACH)] : joined.ends.filter((e) => e > h && e <= s + JOIN_REACH)
      for (const e of ends) {
        if (budget.remaining < e - s) {
          budget.exceeded = true
          report(SCAN_LIMIT_RULE, 'join')
          return
        }
        budget.remaining -= e - s
        const slice = joined.text.slice(s, e)
        regex.lastIndex = 0
        let found = false
        for (let m = regex.exec(slice); m !== null; m = regex.sticky ? null : regex.exec(slice)) {
          if (m[0].length === 0) {
            regex.lastIndex++
            continue
          }
          const { at, value } = credentialSpan(m)
          if (pattern.verify && !pattern.verify(value)) continue
          if (isKnownPlaceholder(value)) continue
          // The whole match and the credential both count: context in one field (`sv=...`) and the
          // credential in the next is a split too, and a credential checked behind its keyword reaches back.
          // A match that only touches a boundary counts as well: its lookahead or lookbehind read the other field.
          const from = s + Math.min(m.index, at) - 1
          const to = s + Math.max(m.index + m[0].length, at + value.length) + 1
          if (!anywhere && !crossesBoundary(joined, from, to)) continue
          report(pattern.id, undefined)
          found = true
          break
        }
        // The shortest slice that matches is the one the boundary made: longer ones only add to it.
        if (found) break
      }
    }
  }
}

/** Characters of the base64, base32 and hex alphabets (with padding): what an encoded piece is made of. */
const ENCODED_CHAR = new Uint8Array(128)
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-=') ENCODED_CHAR[ch.charCodeAt(0)] = 1

/**
 * The stretches of the join worth decoding across a boundary: the encoded
 * runs the engine finds in it, and every maximal stretch of encoding
 * characters that a boundary cuts, since the text before a piece (a header
 * value such as `application/json` ends in letters) can make the whole
 * stretch look like no encoding while the piece from the boundary on is one.
 */
function spansAcross(joined: Joined): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = findEncodedRuns(joined.text).filter((r) => crossesBoundary(joined, r.start, r.end))
  const text = joined.text
  let start = -1
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0
    if (c < 128 && ENCODED_CHAR[c] === 1) {
      if (start < 0) start = i
      continue
    }
    if (start >= 0 && i - start >= 12 && crossesBoundary(joined, start, i) && !out.some((r) => r.start === start && r.end === i)) out.push({ start, end: i })
    start = -1
  }
  return out
}

/**
 * A text decoded from a whole join, where the field boundaries no longer
 * sit at known offsets: matches are also tried from each keyword on, so a
 * letter that ended the previous field does not hide one.
 */
function findAtKeywords(text: string, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  findAcross({ text, starts: [0], ends: [text.length] }, matcher, budget, report, true)
}

/** Encoded runs of the join that cross a boundary, decoded whole and cut at the boundaries inside them (step 3). */
function decodeAcross(joined: Joined, detectors: Detectors, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  // Escapes (`\x41`, `&#65;`) are not runs: a sequence of them cut between fields decodes only joined.
  const unescaped = decodeEscapes(joined.text)
  if (unescaped !== undefined) {
    for (const hit of detectLayer(unescaped, detectors)) report(hit.rule, hit.encoding ? `escaped+${hit.encoding}` : 'escaped')
    inspectBelowSurface(unescaped, ['escaped'], 1, detectors, budget, report)
    findAtKeywords(normalize(unescaped), matcher, budget, (rule) => report(rule, 'escaped'))
  }
  for (const run of spansAcross(joined)) {
    const cuts = [run.start, ...joined.starts.filter((s) => s > run.start && s < run.end)]
    const endsInside = [...joined.ends.filter((e) => e > run.start && e < run.end), run.end]
    // Whole run, and every stretch from a field start to a field end inside it that crosses a boundary.
    for (const from of cuts.slice(0, 8)) {
      for (const to of endsInside.slice(-8)) {
        if (to - from < 12 || !crossesBoundary(joined, from, to)) continue
        const text = joined.text.slice(from, to)
        for (const variant of decodeVariants(text, budget)) {
          if ('problem' in variant) {
            // A cut through compressed data cannot inflate, and that says nothing; a bomb still does.
            if (variant.problem === 'too-large') report(SCAN_LIMIT_RULE, variant.kind)
            continue
          }
          for (const hit of detectLayer(variant.text, detectors)) report(hit.rule, hit.encoding ? `${variant.kind}+${hit.encoding}` : variant.kind)
          if (variant.printable) inspectBelowSurface(variant.text, [variant.kind], 1, detectors, budget, report)
          if (budget.exceeded) return
        }
      }
    }
  }
}

/** A field with its escapes decoded, or that is one encoded run end to end, decoded; undefined when neither. */
function decodedField(field: string, budget: DecodeBudget): string | undefined {
  const unescaped = decodeEscapes(field)
  if (unescaped !== undefined) return unescaped
  const trimmed = field.trim().replace(/=+$/, '')
  if (trimmed.length < 8) return undefined
  const runs = findEncodedRuns(trimmed)
  const whole = runs.find((r) => r.start === 0 && r.end === trimmed.length)
  if (!whole) return undefined
  for (const variant of decodeVariants(trimmed, budget)) {
    if (!('problem' in variant) && variant.printable) return variant.text
  }
  return undefined
}

/** Known secrets and credential patterns across the boundaries of one join (steps 1 and 2). */
function inspectAcross(joined: Joined, detectors: Detectors, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  // First occurrences suffice: a known secret whose first occurrence sits inside one field was found by that field's scan.
  for (const hit of detectors.knownSecrets.find(joined.text)) {
    if (crossesBoundary(joined, hit.index, hit.index + hit.length)) report('known-secret', hit.encoding)
  }
  findAcross(joined, matcher, budget, report)
}

/**
 * Findings that only the concatenation of `fields`, in order, reveals.
 * `report` gets the rule and the encoding chain.
 */
export function inspectJoin(fields: readonly string[], detectors: Detectors, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  if (fields.length < 2) return
  const readable = fields.map((f) => normalize(f))
  const joined = join(readable)
  if (joined.text.length < 8) return
  inspectAcross(joined, detectors, matcher, budget, report)
  decodeAcross(joined, detectors, matcher, budget, report)
  // A receiver may concatenate first and decode after: `%4` + `1...` is `A...` only when joined,
  // and a multi-byte character cut between two fields only decodes whole.
  const whole = normalize(join(fields).text)
  if (whole !== joined.text) {
    for (const hit of detectLayer(whole, detectors)) report(hit.rule, hit.encoding ? `joined+${hit.encoding}` : 'joined')
    inspectBelowSurface(whole, ['joined'], 0, detectors, budget, report)
    findAtKeywords(whole, matcher, budget, (rule) => report(rule, 'joined'))
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
