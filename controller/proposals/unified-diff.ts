/**
 * A unified diff (`diff -u` shape, a/ and b/ prefixes as git prints them)
 * of two versions of a text. The edits bottle makes to a spec are one
 * contiguous change, so the hunk is found by trimming the common leading and
 * trailing lines; any two texts still give a correct (if not minimal) diff.
 */
const CONTEXT = 3

export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return ''
  const a = splitLines(before)
  const b = splitLines(after)
  let head = 0
  while (head < a.length && head < b.length && sameLine(a[head]!, b[head]!)) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && sameLine(a[a.length - 1 - tail]!, b[b.length - 1 - tail]!)) tail++

  const start = Math.max(0, head - CONTEXT)
  const aEnd = Math.min(a.length, a.length - tail + CONTEXT)
  const bEnd = Math.min(b.length, b.length - tail + CONTEXT)
  const lines: string[] = []
  for (let i = start; i < head; i++) lines.push(` ${a[i]!.text}`)
  for (let i = head; i < a.length - tail; i++) lines.push(`-${a[i]!.text}`, ...noNewline(a[i]!))
  for (let i = head; i < b.length - tail; i++) lines.push(`+${b[i]!.text}`, ...noNewline(b[i]!))
  for (let i = a.length - tail; i < aEnd; i++) lines.push(` ${a[i]!.text}`, ...noNewline(a[i]!))

  const aCount = aEnd - start
  const bCount = bEnd - start
  const range = (from: number, count: number) => (count === 0 ? `${from},0` : count === 1 ? `${from + 1}` : `${from + 1},${count}`)
  return [`--- a/${path}`, `+++ b/${path}`, `@@ -${range(start, aCount)} +${range(start, bCount)} @@`, ...lines].join('\n') + '\n'
}

interface Line {
  text: string
  /** The last line of a text that does not end with a newline. */
  unterminated: boolean
}

function splitLines(text: string): Line[] {
  if (text === '') return []
  const parts = text.split('\n')
  const endsWithNewline = parts[parts.length - 1] === ''
  if (endsWithNewline) parts.pop()
  return parts.map((t, i) => ({ text: t, unterminated: !endsWithNewline && i === parts.length - 1 }))
}

function sameLine(x: Line, y: Line): boolean {
  return x.text === y.text && x.unterminated === y.unterminated
}

function noNewline(line: Line): string[] {
  return line.unterminated ? ['\\ No newline at end of file'] : []
}
