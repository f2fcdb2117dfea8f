/**
 * Runs a table of credential patterns over a text: one keyword pass
 * (Aho-Corasick, `keyword-automaton.ts`) decides which regexes can match,
 * and only those run. Most traffic holds none of the keywords, so a 64 KiB
 * body costs one table-driven pass plus the few patterns without keywords.
 * A pattern marked `startsWithKeyword` is tried only at the offsets where
 * one of its keywords starts, in order and never inside its previous match,
 * which finds exactly what a global scan would.
 *
 * A caller holding the text's ASCII bytes passes them along: the keyword
 * pass then reads bytes, which is cheaper than reading the string.
 *
 * The same pass says where each format's own prefix (`ghp_`, `AKIA`)
 * starts; where blanks follow within a token's reach, the pattern is also
 * tried on the text with its gaps closed (`token-gaps.ts`).
 */
import { byteClass, classRuns, encodingRuns, MIN_ENCODING_RUN, probeRuns, withinEncodingChars, type ByteClass } from './byte-scan.js'
import { compileKeywordAutomaton } from './keyword-automaton.js'
import { isKnownPlaceholder } from './known-placeholders.js'
import { credentialSpan, hasCaptureGroup } from './pattern-shape.js'
import { compileGapPattern, findAcrossGaps } from './token-gaps.js'
import type { CredentialMatch, CredentialPattern } from './types.js'

/** `bytes`, when given, is `text` one byte per character (`charBytesOf`: ASCII as itself, anything else as 0x80). */
export type CredentialFinder = (text: string, bytes?: Uint8Array) => CredentialMatch[]

interface CompiledPattern {
  id: string
  /**
   * `requiresRun` compiled: class membership by character code, the run
   * length, the class for byte input, and whether such a run lies inside a
   * run of the encoding alphabet (`encodingRuns`, read once per view).
   */
  run: { member: Uint8Array; length: number; bytes: ByteClass | undefined; encoded: boolean } | undefined
  regex: RegExp
  /** A sticky copy, for patterns tried only where a keyword starts. */
  sticky: RegExp | undefined
  verify: ((match: string) => boolean) | undefined
}

export function compileCredentialMatcher(patterns: readonly CredentialPattern[], options: { prefilter?: boolean } = {}): CredentialFinder {
  const compiled: CompiledPattern[] = patterns.map((p) => {
    // Private copies: callers may run the exported regexes themselves and leave lastIndex anywhere.
    // Patterns with a capture group get `d` so the group's own offset is known.
    const hasGroup = hasCaptureGroup(p.pattern.source)
    const flags = new Set([...p.pattern.flags, 'g', ...(hasGroup ? ['d'] : [])])
    const sticky = p.startsWithKeyword && p.keywords?.length ? new RegExp(p.pattern.source, [...flags, 'y'].join('')) : undefined
    const run = p.requiresRun ? compileRun(p.requiresRun) : undefined
    return { id: p.id, run, regex: new RegExp(p.pattern.source, [...flags].join('')), sticky, verify: p.verify }
  })
  const prefilter = options.prefilter ?? true
  // The search over gaps starts from the keyword pass's offsets, so only a prefiltered matcher has it.
  const gapPatterns = prefilter ? patterns.map((p) => compileGapPattern(p)) : []

  const always: number[] = []
  const owners = new Map<string, number[]>()
  patterns.forEach((p, index) => {
    if (!prefilter || !p.keywords || p.keywords.length === 0) {
      always.push(index)
      return
    }
    for (const keyword of p.keywords) {
      const key = keyword.toLowerCase()
      const list = owners.get(key) ?? []
      if (!list.includes(index)) list.push(index)
      owners.set(key, list)
    }
  })
  const anchored = new Set<number>()
  if (prefilter) compiled.forEach((p, index) => p.sticky && anchored.add(index))
  const prefixed = gapPatterns.flatMap((p, index) => (p ? [index] : []))
  const automaton = owners.size > 0 ? compileKeywordAutomaton(owners, new Set([...anchored, ...prefixed])) : undefined
  const marks = new Uint32Array(patterns.length)
  let call = 0
  /** Per anchored pattern, the keyword start offsets of the current call. */
  const starts = new Map<number, number[]>([...anchored].map((index) => [index, []]))
  /** Pattern index and start of each prefix keyword of the current call, flat. */
  const prefixHits: number[] = []
  const collectStart = (owner: number, start: number) => {
    if (gapPatterns[owner]) prefixHits.push(owner, start)
    else (starts.get(owner) as number[]).push(start)
  }

  /** Records a match unless `verify` rejects it. */
  const take = (p: CompiledPattern, m: RegExpExecArray, out: CredentialMatch[]) => {
    const { at, value } = credentialSpan(m)
    if ((p.verify && !p.verify(value)) || isKnownPlaceholder(value)) return
    out.push({ rule: p.id, index: at, length: value.length })
  }

  const run = (index: number, text: string, out: CredentialMatch[], bytes: Uint8Array | undefined) => {
    const p = compiled[index] as CompiledPattern
    if (prefilter && p.run && !hasRunIn(text, bytes, p.run)) return
    const at = starts.get(index)
    if (at && p.sticky) return runAt(p, p.sticky, at, text, out)
    const re = p.regex
    re.lastIndex = 0
    let m: RegExpExecArray | null
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++
        continue
      }
      take(p, m, out)
    }
  }

  // The global scan's semantics over candidate starts: leftmost first, resuming after each match.
  const runAt = (p: CompiledPattern, re: RegExp, at: number[], text: string, out: CredentialMatch[]) => {
    if (at.length > 1) at.sort((a, b) => a - b)
    let resume = 0
    for (const start of at) {
      if (start < resume) continue
      re.lastIndex = start
      const m = re.exec(text)
      if (m === null) continue
      resume = m[0].length === 0 ? start + 1 : start + m[0].length
      if (m[0].length > 0) take(p, m, out)
    }
    at.length = 0
  }

  return (text: string, bytes?: Uint8Array): CredentialMatch[] => {
    const out: CredentialMatch[] = []
    if (!automaton) {
      for (const index of always) run(index, text, out, undefined)
      return out
    }
    call = (call + 1) >>> 0 || 1
    if (call === 1) marks.fill(0)
    const selected = [...always]
    // One byte per character: byte offsets are character offsets.
    const source = bytes !== undefined && bytes.length === text.length ? bytes : text
    for (const list of starts.values()) list.length = 0
    automaton.scan(
      source,
      (ids) => {
        for (const id of ids) {
          if (marks[id] !== call) {
            marks[id] = call
            selected.push(id)
          }
        }
      },
      anchored.size > 0 ? collectStart : undefined,
    )
    if (selected.length > always.length) selected.sort((a, b) => a - b)
    for (const index of selected) run(index, text, out, source === text ? undefined : (source as Uint8Array))
    if (prefixHits.length > 0) {
      findAcrossGaps(text, prefixHits, gapPatterns, out)
      prefixHits.length = 0
    }
    return out
  }
}

/** `hasRun`, by the SIMD class pass when the text's ASCII bytes are at hand and the module can test the length. */
function hasRunIn(text: string, bytes: Uint8Array | undefined, run: NonNullable<CompiledPattern['run']>): boolean {
  if (bytes && run.encoded) {
    // A run of encoding characters lies inside a run of the encoding alphabet, which another pass needs anyway.
    const outer = encodingRuns(bytes)
    for (let k = 0; k < outer.length; k += 2) {
      const start = outer[k] as number
      const end = outer[k + 1] as number
      if (end - start < run.length) continue
      let found = false
      probeRuns(start, end, run.length, (i) => run.member[bytes[i] as number] === 1, () => (found = true))
      if (found) return true
    }
    return false
  }
  if (!bytes || run.length < 2 || run.length > 64) return hasRun(text, run.member, run.length)
  run.bytes ??= byteClass((c) => run.member[c] === 1)
  let found = false
  classRuns(bytes, run.bytes, run.length, () => (found = true))
  return found
}

function compileRun(required: NonNullable<CredentialPattern['requiresRun']>): NonNullable<CompiledPattern['run']> {
  const member = classTable(required.chars)
  return { member, length: required.length, bytes: undefined, encoded: required.length >= MIN_ENCODING_RUN && withinEncodingChars(member) }
}

function classTable(chars: RegExp): Uint8Array {
  const member = new Uint8Array(128)
  for (let c = 0; c < 128; c++) if (chars.test(String.fromCharCode(c))) member[c] = 1
  return member
}

/** Does `text` hold `length` consecutive members (`probeRuns`, stopping at the first)? */
export function hasRun(text: string, member: Uint8Array, length: number): boolean {
  const isMember = (i: number) => {
    const c = text.charCodeAt(i)
    return c < 128 && member[c] === 1
  }
  let found = false
  probeRuns(0, text.length, length, isMember, () => (found = true))
  return found
}
