/**
 * Tokens broken up by blanks inside one text: `ghp_abcd efgh…`, an AWS key
 * id wrapped onto the next line, a token pasted with its terminal's line
 * breaks and indentation. A receiver that strips the blanks holds the
 * token, so from each place a token format's own prefix opens a word, the
 * text that follows is read with its gaps closed ("the closed window").
 *
 * Where the token ends is not known: it may end at any gap (the sentence
 * goes on after a blank), so the pattern is tried on the window cut at each
 * gap after the first, shortest first, and on the whole window. The window
 * stops at the first character no match of the format can hold: most words
 * that open with a prefix (`path` for Airtable's `pat`) end there before
 * any gap, and cost one short pass.
 *
 * Closing gaps glues words together, so a hit counts only when the window
 * is a likely token and not a sentence about one:
 * - the credential starts at the prefix (formats the catalog finds only by
 *   a name in context, such as `discord … = <hex>`, are not read this way);
 * - it crosses a gap (otherwise the text's own scan found it), and ends at
 *   a gap or before punctuation, not inside a name or before a key's `=`
 *   or `:` (a short value glued to the next line of a config file);
 * - the pattern's own checks hold (checksum, placeholder list);
 * - the pieces after the first gap are not all words or numbers
 *   (`gluesWords`), and what follows the prefix reads as a token's body
 *   (`looksLikeTokenBody`): prose with its blanks closed fails one or both.
 *
 * Out of reach: a gap inside the prefix itself (`gh p_…`), and separators
 * other than blanks between characters.
 */
import { isKnownPlaceholder } from './known-placeholders.js'
import { credentialSpan, hasCaptureGroup, matchCharacters, maxMatchLength, withoutClosingLookaheads } from './pattern-shape.js'
import type { CredentialMatch, CredentialPattern } from './types.js'

/** The longest blank run closed as a gap: a line break and the next line's indentation. */
export const MAX_GAP = 16
/** How many characters of token a closed window holds: the longest prefixed format with room to spare. */
export const CLOSED_REACH = 1024

export interface ClosedWindow {
  text: string
  /** Offset in `text` of the first closed gap: a match ending at or before it never crossed one. */
  firstGap: number
  /** The window stopped at its reach: a match running to its end may be cut from a longer run. */
  cut: boolean
  /** Offset in the source of the window's first character. */
  start: number
  /** The source the window closes, from `start`. */
  raw: string
  /** Per gap, ascending: its offset in `text` and where the piece after it starts in `raw` (`gapsOf`). */
  gaps?: { at: number[]; resume: number[] }
}

/** Blanks: space, tab, line feed, vertical tab, form feed, carriage return (other spaces normalize to these). */
const BLANKS = /[ \t\n\v\f\r]+/g

function isBlankCode(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

/**
 * The text from `start` with each run of at most MAX_GAP blanks removed.
 * It stops at a longer run, at the end of `text`, after `reach` characters,
 * or at a character outside `chars` (what a match can consume), which it
 * keeps last so the pattern's lookaheads still read it. Undefined when no
 * gap falls before the stop: no match there can cross one.
 */
export function closedWindow(text: string, start: number, reach = CLOSED_REACH, chars?: Uint8Array): ClosedWindow | undefined {
  let n = 0
  let i = start
  let firstGap = -1
  let cut = false
  let stop = -1
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (isBlankCode(c)) {
      let end = i + 1
      while (end < text.length && isBlankCode(text.charCodeAt(end))) end++
      if (end - i > MAX_GAP || end === text.length || n === 0) break
      if (firstGap < 0) firstGap = n
      i = end
      continue
    }
    if (chars !== undefined && !(c < 128 && chars[c] === 1)) {
      stop = i
      break
    }
    if (n === reach) {
      cut = true
      break
    }
    n++
    i++
  }
  if (firstGap <= 0 || n <= firstGap) return undefined
  const raw = text.slice(start, stop < 0 ? i : stop + 1)
  return { text: raw.replace(BLANKS, ''), firstGap, cut, start, raw }
}

/** The window's gaps, read once when a match is tried against them. */
export function gapsOf(window: ClosedWindow): NonNullable<ClosedWindow['gaps']> {
  if (window.gaps) return window.gaps
  const at: number[] = []
  const resume: number[] = []
  let removed = 0
  BLANKS.lastIndex = 0
  for (let m = BLANKS.exec(window.raw); m !== null; m = BLANKS.exec(window.raw)) {
    const closedAt = m.index - removed
    if (closedAt >= window.text.length) break
    at.push(closedAt)
    resume.push(m.index + m[0].length)
    removed += m[0].length
  }
  window.gaps = { at, resume }
  return window.gaps
}

/** The offset in the source of the window's character at `index`. */
export function sourceOffset(window: ClosedWindow, index: number): number {
  const { at, resume } = gapsOf(window)
  let g = at.length - 1
  while (g >= 0 && (at[g] as number) > index) g--
  return window.start + (g < 0 ? index : (resume[g] as number) + index - (at[g] as number))
}

/**
 * The pieces the gaps cut after the first, up to `to`, are all words
 * (lower case, Capitalized or camelCase, maybe with a number and
 * punctuation after) and one holds 5 letters or more: closing the gaps
 * glued a sentence, not a token. A token cut into pieces of 4 never reads
 * so; a piece of random base62 is such a word 9% of the time at 5
 * characters, 3% at 8 and 0.4% at 12 (measured), and every piece must be.
 */
export function gluesWords(window: ClosedWindow, to: number): boolean {
  const gaps = gapsOf(window).at
  const { text } = window
  let long = false
  for (let g = 0; g < gaps.length && (gaps[g] as number) < to; g++) {
    const piece = text.slice(gaps[g], Math.min(to, gaps[g + 1] ?? to))
    const word = WORD.exec(piece)
    if (word === null) return false
    if ((word[1] as string).length >= 5) long = true
  }
  return long
}

const WORD = /^[^A-Za-z0-9]*((?:[A-Z]?[a-z]{2,}|[A-Z][a-z]?(?![A-Za-z]))*)[0-9]*[^A-Za-z0-9]*$/

/**
 * What follows a format's prefix, closed up, reads as a token's body and
 * not as words glued together. Over its letters and digits:
 * - a body without upper case that has 8 lower-case letters in a row
 *   switches between letters and digits at least every fourth step (random
 *   lower-case base36 switches at 40% of steps; a sentence with a number in
 *   it far less); hex and digit groups (`xoxp-1234…-…-<hex>`) rarely hold
 *   such a run;
 * - a body of letters in both cases and no digit switches case at least
 *   every third step (random letters at 50%; Title Case and camelCase words
 *   at 10-35%);
 * - in a body with two upper-case letters or more, fewer than 3 in 5 of
 *   them open two lower-case letters (camelCase and Capitalized words do
 *   nearly all; random base62 about 1 in 6);
 * - any other body switches between lower case, upper case and digits at
 *   least every eighth step (random base62 at 62%, upper case and digits at
 *   30%), and no 12 lower-case letters run together (glued words do; random
 *   base62 about once per 10 000 offsets).
 */
export function looksLikeTokenBody(value: string, prefixLength: number): boolean {
  let n = 0
  let switches = 0
  let lowerRun = 0
  let longestLowerRun = 0
  let upper = 0
  let humps = 0
  let digits = 0
  let last = -1
  for (let i = prefixLength; i < value.length; i++) {
    const c = value.charCodeAt(i)
    const cls = c >= 97 && c <= 122 ? LOWER : c >= 65 && c <= 90 ? UPPER : c >= 48 && c <= 57 ? DIGIT : -1
    if (cls < 0) continue
    n++
    if (last >= 0 && cls !== last) switches++
    last = cls
    if (cls === UPPER) upper++
    else if (cls === DIGIT) digits++
    lowerRun = cls === LOWER ? lowerRun + 1 : 0
    if (lowerRun > longestLowerRun) longestLowerRun = lowerRun
    // An upper-case letter opening two lower-case ones: the hump of a camelCase or Capitalized word.
    if (lowerRun === 2 && i >= 2 && isUpperCode(value.charCodeAt(i - 2))) humps++
  }
  if (switches < 2) return false
  if (upper >= 2 && humps * 5 >= upper * 3) return false
  if (upper === 0) return longestLowerRun < GLUED_WORDS_RUN || switches * 4 >= n - 1
  if (digits === 0) return switches * 3 >= n - 1
  return switches * 8 >= n - 1 && longestLowerRun < MAX_LOWER_RUN
}

function isUpperCode(c: number): boolean {
  return c >= 65 && c <= 90
}

const LOWER = 0
const UPPER = 1
const DIGIT = 2
/** Lower-case letters in a row from which a body without upper case may be glued words. */
const GLUED_WORDS_RUN = 8
/** Lower-case letters in a row that mark glued words in a body that also has upper case. */
const MAX_LOWER_RUN = 12

/** A catalog pattern compiled for the search over closed gaps. */
export interface GapPattern {
  id: string
  /**
   * The keywords that open the credential itself: every keyword of a
   * pattern that reports its whole match; for one that reports a capture
   * group, only keywords that are no plain word (`HRKU-` but not `heroku`,
   * which names the provider before a value). Lower case when `caseless`.
   */
  prefixes: readonly string[]
  caseless: boolean
  /** `keywordLead` up to MAX_PREFIX_LEAD: how far before its keyword the token may start (`rubygems_` holds `gems_`). */
  lead: number
  /** The pattern, sticky. */
  closed: RegExp
  /** The pattern without the lookaheads that close its alternatives: how far a match could reach whatever follows. */
  reach: RegExp
  /** The most characters a match holds, Infinity when unbounded. */
  longest: number
  /** The characters a match can consume (`matchCharacters`), undefined for any. */
  chars: Uint8Array | undefined
  verify: ((match: string) => boolean) | undefined
}

/**
 * How far back from a keyword the search looks for the token's start: a
 * keyword deep inside a token (OpenAI's `T3BlbkFJ`) is not a prefix.
 */
const MAX_PREFIX_LEAD = 16

/** What may not follow a token found across gaps, in the same piece: more of a name, or the `=` or `:` after a key. */
const RUNS_ON = /[A-Za-z0-9_=:]/

/** Ends tried per closed window at most: a token spelled one character per gap has one per character. */
const MAX_ENDS_TRIED = 64

/** Undefined for patterns no prefix opens: those anchored on everyday words (`startsWithKeyword`) or without keywords. */
export function compileGapPattern(p: CredentialPattern): GapPattern | undefined {
  if (p.startsWithKeyword || !p.keywords?.length) return undefined
  const hasGroup = hasCaptureGroup(p.pattern.source)
  const caseless = p.pattern.flags.includes('i')
  const prefixes = p.keywords.filter((k) => !hasGroup || /[^A-Za-z]/.test(k)).map((k) => (caseless ? k.toLowerCase() : k))
  if (prefixes.length === 0) return undefined
  const flags = [...new Set([...p.pattern.flags, 'y', ...(hasGroup ? ['d'] : [])])].join('')
  return {
    id: p.id,
    prefixes,
    caseless,
    lead: Math.min(p.keywordLead ?? 0, MAX_PREFIX_LEAD),
    closed: new RegExp(p.pattern.source, flags),
    reach: new RegExp(withoutClosingLookaheads(p.pattern.source), flags),
    longest: maxMatchLength(p.pattern.source),
    chars: matchCharacters(p.pattern.source, caseless),
    verify: p.verify,
  }
}

/**
 * Credentials broken by gaps, from the keyword hits of one text (`hits`:
 * flat pattern index and start pairs, from the matcher's keyword pass).
 * Each is reported with the span that holds it and its gaps.
 */
export function findAcrossGaps(text: string, hits: readonly number[], patterns: readonly (GapPattern | undefined)[], out: CredentialMatch[]): void {
  let resume = 0
  for (let k = 0; k < hits.length; k += 2) {
    const p = patterns[hits[k] as number]
    const at = hits[k + 1] as number
    if (p === undefined || at < resume) continue
    const prefix = p.prefixes.find((x) => (p.caseless ? startsWithIgnoringCase(text, at, x) : text.startsWith(x, at)))
    if (prefix === undefined) continue
    // The token opens a word: at the keyword, or up to the pattern's lead before it.
    let start = at
    while (start > at - p.lead && start > 0 && isTokenChar(text.charCodeAt(start - 1))) start--
    if (start > 0 && isAlnum(text.charCodeAt(start - 1))) continue
    const prefixEnd = at - start + prefix.length
    // A window one longer than any match, up to where a match must stop, decides at once.
    const window = closedWindow(text, start, Math.min(p.longest + 1, CLOSED_REACH), p.chars)
    if (!window || window.firstGap < prefixEnd) continue
    const hit = matchAcrossGaps(p, text, window, prefixEnd)
    if (hit === undefined) continue
    const end = sourceOffset(window, hit - 1) + 1
    out.push({ rule: p.id, index: start, length: end - start, gapsClosed: true })
    resume = end
  }
}

/**
 * The end (in the window) of a credential of `p` that opens the window and
 * crosses a gap, trying the window cut at each later gap up to where the
 * pattern could reach, then whole.
 */
function matchAcrossGaps(p: GapPattern, text: string, window: ClosedWindow, prefixLength: number): number | undefined {
  // The character before the window stays in front, so the pattern's own boundary checks read it.
  const lead = window.start > 0 ? (text[window.start - 1] as string) : ''
  const closed = lead + window.text
  // Most prefixes open a word of prose: the pattern fails on the window whatever the ends, at one try.
  p.reach.lastIndex = lead.length
  const far = p.reach.exec(closed)
  if (far === null) return undefined
  const limit = far.index + far[0].length
  const gaps = gapsOf(window).at
  let tries = 0
  for (let g = 1; g <= gaps.length && tries < MAX_ENDS_TRIED; g++) {
    const end = g < gaps.length ? (gaps[g] as number) : window.text.length
    if (end + lead.length > limit && g < gaps.length) continue
    tries++
    p.closed.lastIndex = lead.length
    const m = p.closed.exec(end === window.text.length ? closed : closed.slice(0, end + lead.length))
    if (m === null) continue
    const { at, value } = credentialSpan(m)
    const to = at - lead.length + value.length
    if (at !== lead.length || to <= window.firstGap) continue
    // A token ends at a gap or before punctuation; one that runs into a name or a key (`WORKERS=4`, `TIMEOUT_SECONDS`)
    // glued the next line of a config file onto a value.
    if (to < window.text.length && !gaps.includes(to) && RUNS_ON.test(window.text[to] as string)) continue
    if (window.cut && to === window.text.length) return undefined
    if ((p.verify && !p.verify(value)) || isKnownPlaceholder(value)) continue
    if (gluesWords(window, to) || !looksLikeTokenBody(value, prefixLength)) continue
    return to
  }
  return undefined
}

/** `text.startsWith(lower, at)` ignoring ASCII case, without a lower-cased copy: this runs for every prefix hit. */
function startsWithIgnoringCase(text: string, at: number, lower: string): boolean {
  if (at + lower.length > text.length) return false
  for (let i = 0; i < lower.length; i++) {
    const c = text.charCodeAt(at + i)
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

function isTokenChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
}
