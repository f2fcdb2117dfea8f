/**
 * What a credential pattern's source and its matches say: whether it has a
 * capture group, the credential a match stands for, how long a match can
 * be, which characters it can consume, and the pattern without the
 * lookaheads that close it.
 */

/** Whether the source holds a capture group: the regex joined with an empty alternative matches '' and reports its groups. */
export function hasCaptureGroup(source: string): boolean {
  return (new RegExp(`${source}|`).exec('')?.length ?? 1) > 1
}

/** The credential a regex match stands for: its first capture group when it has one. */
export function credentialSpan(m: RegExpExecArray): { at: number; value: string } {
  for (let g = 1; g < m.length; g++) {
    const span = m.indices?.[g]
    if (m[g] !== undefined && span) return { at: span[0], value: m[g] as string }
  }
  return { at: m.index, value: m[0] }
}

/** A negative lookahead (no nested groups inside it) that only groups closing, then an alternative's end or the pattern's, follow. */
const CLOSING_LOOKAHEAD = /\(\?!(?:[^()\\[]|\\.|\[(?:[^\]\\]|\\.)*\])*\)(?=\)*(?:\||$))/g

/** A pattern's source without the lookaheads that close it or any of its alternatives. */
export function withoutClosingLookaheads(source: string): string {
  // Stripping the last one can leave another closing the group it ended: until none is left.
  for (let out = source.replace(CLOSING_LOOKAHEAD, ''); ; out = out.replace(CLOSING_LOOKAHEAD, '')) {
    if (out === source) return out
    source = out
  }
}

/**
 * The most characters a match of a regex source can hold, read from its
 * syntax: a sequence adds its parts, an alternation takes its longest
 * branch, a quantifier multiplies by its upper bound, and lookarounds hold
 * none. Unbounded quantifiers and backreferences give Infinity. The search
 * over closed gaps uses it to know when a failed match was conclusive: a
 * pattern that fails on a window longer than any of its matches would fail
 * on a longer window too.
 */
export function maxMatchLength(source: string): number {
  const parser = { source, at: 0 }
  const length = alternation(parser)
  if (parser.at !== source.length) throw new Error(`unbalanced ) at ${parser.at} in /${source}/`)
  return length
}

interface Parser {
  source: string
  at: number
}

function alternation(p: Parser): number {
  let longest = sequence(p)
  while (p.source[p.at] === '|') {
    p.at++
    longest = Math.max(longest, sequence(p))
  }
  return longest
}

function sequence(p: Parser): number {
  let total = 0
  while (p.at < p.source.length && p.source[p.at] !== '|' && p.source[p.at] !== ')') {
    const atom = atomLength(p)
    total += atom * quantifier(p, atom)
  }
  return total
}

/** The upper bound of a quantifier after an atom (1 when there is none); an atom of length 0 stays 0. */
function quantifier(p: Parser, atom: number): number {
  const c = p.source[p.at]
  let bound = 1
  if (c === '*' || c === '+') {
    p.at++
    bound = Infinity
  } else if (c === '?') {
    p.at++
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.source.slice(p.at))
    if (m === null) return 1
    p.at += m[0].length
    bound = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3])
  } else {
    return 1
  }
  if (p.source[p.at] === '?') p.at++
  return atom === 0 ? 1 : bound
}

function atomLength(p: Parser): number {
  const c = p.source[p.at] as string
  if (c === '(') {
    const opening = groupOpening(p.source, p.at)
    p.at += opening.length
    const inner = alternation(p)
    if (p.source[p.at] !== ')') throw new Error(`unclosed ( in /${p.source}/`)
    p.at++
    return opening.lookaround ? 0 : inner
  }
  if (c === '[') {
    p.at = classEnd(p.source, p.at) + 1
    return 1
  }
  if (c === '\\') {
    const next = p.source[p.at + 1] as string
    p.at += 1 + escapeLength(p.source, p.at + 1)
    if (next === 'b' || next === 'B') return 0
    return /[1-9k]/.test(next) ? Infinity : 1
  }
  p.at++
  return c === '^' || c === '$' ? 0 : 1
}

/**
 * The ASCII characters a match of a regex source can consume (lookarounds
 * read but consume nothing), as a membership table by character code;
 * undefined when it can consume any character (`.`, a negated class, `\S`,
 * `\W`, `\D`, anything beyond ASCII). The search over closed gaps stops at
 * the first character outside it: no match runs past that.
 */
export function matchCharacters(source: string, caseless: boolean): Uint8Array | undefined {
  const member = new Uint8Array(128)
  const add = (from: number, to = from) => {
    for (let c = from; c <= to && c < 128; c++) member[c] = 1
  }
  let lookaround = 0
  const depths: boolean[] = []
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string
    if (c === '(') {
      const opening = groupOpening(source, i)
      depths.push(opening.lookaround)
      if (opening.lookaround) lookaround++
      i += opening.length - 1
      continue
    }
    if (c === ')') {
      if (depths.pop()) lookaround--
      continue
    }
    if ('|*+?^$'.includes(c)) continue
    if (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i))) {
      i = source.indexOf('}', i)
      continue
    }
    if (c === '[') {
      const end = classEnd(source, i)
      if (lookaround === 0 && !classMembers(source.slice(i + 1, end), add)) return undefined
      i = end
      continue
    }
    if (c === '\\') {
      const escape = source.slice(i, i + 2)
      i++
      if (lookaround > 0 || escape === '\\b' || escape === '\\B') continue
      if (!escapeMembers(source, i, add)) return undefined
      i += escapeLength(source, i) - 1
      continue
    }
    if (lookaround > 0) continue
    if (c === '.' || c.charCodeAt(0) >= 128) return undefined
    add(c.charCodeAt(0))
  }
  if (caseless) for (let c = 65; c <= 90; c++) if (member[c] || member[c + 32]) member[c] = member[c + 32] = 1
  return member
}

/** How many characters open the group at `at` (`(`, `(?:`, `(?<name>`, `(?=` ...), and whether it is a lookaround. */
function groupOpening(source: string, at: number): { length: number; lookaround: boolean } {
  const lookaround = /^\(\?<?[=!]/.exec(source.slice(at, at + 4))
  if (lookaround) return { length: lookaround[0].length, lookaround: true }
  if (source.startsWith('(?:', at)) return { length: 3, lookaround: false }
  if (source.startsWith('(?<', at)) return { length: source.indexOf('>', at) - at + 1, lookaround: false }
  return { length: 1, lookaround: false }
}

/** The offset of the `]` closing the class opened at `open`. */
function classEnd(source: string, open: number): number {
  let i = open + 1
  if (source[i] === '^') i++
  if (source[i] === ']') i++
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1
  return i
}

/** Adds a class body's members; false when it can hold any character. */
function classMembers(body: string, add: (from: number, to?: number) => void): boolean {
  if (body.startsWith('^')) return false
  // Each member: a character code, -1 for a shorthand class (`\d`), and whether it was a bare `-`.
  const items: { code: number; dash: boolean }[] = []
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      items.push({ code: body.charCodeAt(i), dash: body[i] === '-' })
      continue
    }
    const letter = body[i + 1] as string
    if ('DWSpP'.includes(letter)) return false
    if ('dws'.includes(letter)) {
      escapeMembers(body, i + 1, add)
      items.push({ code: -1, dash: false })
      i++
      continue
    }
    const length = escapeLength(body, i + 1)
    items.push({ code: escapedCode(body.slice(i + 1, i + 1 + length)), dash: false })
    i += length
  }
  for (let k = 0; k < items.length; k++) {
    const from = (items[k] as { code: number }).code
    const next = items[k + 1]
    const to = items[k + 2]
    if (next?.dash && to && to.code >= 0 && from >= 0) {
      if (to.code >= 128) return false
      add(from, to.code)
      k += 2
      continue
    }
    if (from >= 128) return false
    if (from >= 0) add(from)
  }
  return true
}

/** Adds what the escape at `at` (just past its `\`) matches; false when it can match any character. */
function escapeMembers(source: string, at: number, add: (from: number, to?: number) => void): boolean {
  const letter = source[at] as string
  if (letter === 'd') add(48, 57)
  else if (letter === 'w') {
    add(48, 57)
    add(65, 90)
    add(97, 122)
    add(95)
  } else if (letter === 's') {
    add(9, 13)
    add(32)
  } else if ('DWSpPk'.includes(letter) || /[1-9]/.test(letter)) return false
  else {
    const code = escapedCode(source.slice(at, at + escapeLength(source, at)))
    if (code >= 128) return false
    add(code)
  }
  return true
}

/** How many characters the escape at `at` (just past its `\`) spans. */
function escapeLength(source: string, at: number): number {
  const letter = source[at]
  if (letter === 'x') return 3
  if (letter === 'u') return source[at + 1] === '{' ? source.indexOf('}', at) - at + 1 : 5
  if (letter === 'c') return 2
  if ((letter === 'p' || letter === 'P') && source[at + 1] === '{') return source.indexOf('}', at) - at + 1
  if (letter === 'k' && source[at + 1] === '<') return source.indexOf('>', at) - at + 1
  return 1
}

/** The character code an escape body (`x41`, `u0041`, `n`, `.`) stands for. */
function escapedCode(escape: string): number {
  const letter = escape[0] as string
  if (letter === 'x') return parseInt(escape.slice(1), 16)
  if (letter === 'u') return parseInt(escape.replace(/[u{}]/g, ''), 16)
  const named: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12, '0': 0 }
  return named[letter] ?? letter.charCodeAt(0)
}
