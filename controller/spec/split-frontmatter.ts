/** A Markdown spec: YAML between `---` fences at the very top, then the body. */
export interface Frontmatter {
  yaml: string
  /** Lines before the YAML starts (the opening fence), to map YAML positions back to the file. */
  lineOffset: number
  body: string
}

const OPEN = /^---[ \t]*\r?\n/
const CLOSE = /^(?:---|\.\.\.)[ \t]*$/m

/** Returns undefined when the file has no frontmatter, so it is plain Markdown (a README, a skill). */
export function splitFrontmatter(text: string): Frontmatter | undefined {
  const open = OPEN.exec(text)
  if (!open) return undefined
  const rest = text.slice(open[0].length)
  const close = CLOSE.exec(rest)
  if (!close) return undefined
  const yaml = rest.slice(0, close.index)
  let body = rest.slice(close.index + close[0].length)
  body = body.replace(/^\r?\n/, '')
  return { yaml, lineOffset: 1, body }
}
