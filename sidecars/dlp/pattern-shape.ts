/**
 * What a credential pattern's source and its matches say: the credential a
 * match stands for, how long a match can be, and the pattern without the
 * lookaheads that close it.
 */

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
    p.at++
    const lookaround = /^\?<?[=!]/.exec(p.source.slice(p.at))
    if (lookaround) p.at += lookaround[0].length
    else if (p.source.startsWith('?:', p.at)) p.at += 2
    else if (p.source.startsWith('?<', p.at)) p.at = p.source.indexOf('>', p.at) + 1
    const inner = alternation(p)
    if (p.source[p.at] !== ')') throw new Error(`unclosed ( in /${p.source}/`)
    p.at++
    return lookaround ? 0 : inner
  }
  if (c === '[') {
    p.at++
    while (p.at < p.source.length && p.source[p.at] !== ']') p.at += p.source[p.at] === '\\' ? 2 : 1
    p.at++
    return 1
  }
  if (c === '\\') {
    const next = p.source[p.at + 1] as string
    p.at += 2
    if (next === 'b' || next === 'B') return 0
    if (/[1-9k]/.test(next)) return Infinity
    if (next === 'x') p.at += 2
    else if (next === 'u') p.at += p.source[p.at] === '{' ? p.source.indexOf('}', p.at) - p.at + 1 : 4
    else if (next === 'c') p.at += 1
    else if (next === 'p' || next === 'P') p.at = p.source.indexOf('}', p.at) + 1
    return 1
  }
  p.at++
  return c === '^' || c === '$' ? 0 : 1
}
