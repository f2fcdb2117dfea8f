/**
 * Paths as git prints them in diff headers: bare when plain, else in double
 * quotes with C escapes (`\t`, `\"`, `\\`, octal `\303\251` for each byte
 * outside ASCII, since core.quotePath is on). Decoding gives the path's bytes
 * back as UTF-8 text.
 */

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 }

/** Decode one quoted path at the start of `text`; returns it and the rest after the closing quote. */
export function readQuotedPath(text: string): { path: string; rest: string } | undefined {
  if (!text.startsWith('"')) return undefined
  const bytes: number[] = []
  let i = 1
  while (i < text.length) {
    const ch = text[i] as string
    if (ch === '"') return { path: Buffer.from(bytes).toString('utf8'), rest: text.slice(i + 1) }
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'))
      i++
      continue
    }
    const next = text[i + 1]
    if (next === undefined) return undefined
    const simple = SIMPLE_ESCAPES[next]
    if (simple !== undefined) {
      bytes.push(simple)
      i += 2
      continue
    }
    const octal = /^[0-3][0-7]{2}/.exec(text.slice(i + 1, i + 4))
    if (!octal) return undefined
    bytes.push(parseInt(octal[0], 8))
    i += 4
  }
  return undefined
}

/**
 * The path of a `diff --git a/P b/P` header (renames are off, so both sides
 * name the same path). Undefined when the header names two different paths.
 */
export function pathOfGitHeader(rest: string): string | undefined {
  if (rest.startsWith('"')) {
    const a = readQuotedPath(rest)
    if (!a || !a.rest.startsWith(' ')) return undefined
    const b = readQuotedPath(a.rest.slice(1))
    if (!b || b.rest !== '' || !a.path.startsWith('a/') || !b.path.startsWith('b/')) return undefined
    return a.path.slice(2) === b.path.slice(2) ? b.path.slice(2) : undefined
  }
  // Unquoted: "a/P b/P", and P may itself hold spaces, so split by length.
  if ((rest.length - 5) % 2 !== 0) return undefined
  const length = (rest.length - 5) / 2
  const path = rest.slice(2, 2 + length)
  return rest === `a/${path} b/${path}` ? path : undefined
}

/** The path after `diff --cc ` or `+++ b/` (without the prefix), quoted or not; git appends a tab when it holds a space. */
export function pathOfName(text: string, prefix: string): string | undefined {
  if (text.startsWith('"')) {
    const quoted = readQuotedPath(text)
    if (!quoted || !quoted.path.startsWith(prefix)) return undefined
    return quoted.path.slice(prefix.length)
  }
  const bare = text.endsWith('\t') ? text.slice(0, -1) : text
  return bare.startsWith(prefix) ? bare.slice(prefix.length) : undefined
}
