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
import { decodeVariants, findEncodedRuns, type DecodeBudget } from './decode-variants.js'
import { detectLayer, inspectBelowSurface, SCAN_LIMIT_RULE, UNREADABLE_RULE, type Detectors, type ReportHit } from './inspect-layers.js'
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
export const JOIN_REACH = 1024
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

/** Credential patterns across boundaries (step 2 of the module comment). */
function findAcross(joined: Joined, matcher: JoinMatcher, budget: DecodeBudget, report: ReportHit): void {
  const hits: [owner: number, start: number][] = []
  matcher.automaton.scan(joined.text, () => undefined, (owner, start) => hits.push([owner, start]))
  const tried = new Set<string>()
  for (const [owner, h] of hits) {
    const { pattern, lead, regex } = matcher.patterns[owner] as CompiledJoinPattern
    const lo = Math.max(0, h - lead)
    const starts = lead === 0 ? [h] : [lo, ...joined.starts.filter((s) => s > lo && s <= h)]
    for (const s of starts) {
      const key = `${owner}:${s}`
      if (tried.has(key)) continue
      tried.add(key)
      // Ends: every field end past the keyword within reach, then the end of the join.
      const ends = joined.ends.filter((e) => e > h && e <= s + JOIN_REACH)
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
          if (!crossesBoundary(joined, s + at, s + at + value.length)) continue
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

/** Encoded runs of the join that cross a boundary, decoded whole and cut at the boundaries inside them (step 3). */
function decodeAcross(joined: Joined, detectors: Detectors, budget: DecodeBudget, report: ReportHit): void {
  for (const run of findEncodedRuns(joined.text)) {
    if (!crossesBoundary(joined, run.start, run.end)) continue
    const cuts = [run.start, ...joined.starts.filter((s) => s > run.start && s < run.end)]
    const endsInside = [...joined.ends.filter((e) => e > run.start && e < run.end), run.end]
    // Whole run, and every stretch from a field start to a field end inside it that crosses a boundary.
    for (const from of cuts.slice(0, 8)) {
      for (const to of endsInside.slice(-8)) {
        if (to - from < 12 || !crossesBoundary(joined, from, to)) continue
        const text = joined.text.slice(from, to)
        for (const variant of decodeVariants(text, budget)) {
          if ('problem' in variant) {
            report(variant.problem === 'unreadable' ? UNREADABLE_RULE : SCAN_LIMIT_RULE, variant.kind)
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

/** A field that is one encoded run end to end, decoded; the field itself otherwise. */
function decodedField(field: string, budget: DecodeBudget): string | undefined {
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
  decodeAcross(joined, detectors, budget, report)

  // Split first, then each piece encoded: join the pieces' decodings.
  const decoded = readable.map((f) => decodedField(f, budget))
  if (decoded.some((d) => d !== undefined)) {
    const chain = 'decoded-fields'
    inspectAcross(join(decoded.map((d, i) => d ?? (readable[i] as string))), detectors, matcher, budget, (rule, encoding) => report(rule, encoding ? `${chain}+${encoding}` : chain))
  }
}
