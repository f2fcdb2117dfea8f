/**
 * Scanning a run of consecutive lines with the DLP engine and saying on
 * which line each finding starts. The engine reports a rule, not an offset,
 * so lines are found by asking again:
 *   1. the whole run, once: nothing found is the common case and costs one pass;
 *   2. each line alone, which places every single-line secret;
 *   3. for a rule the run has but no single line has (a private key block
 *      spans lines), the shortest prefix that has it gives the line it ends
 *      on, and the shortest suffix of that prefix the line it starts on.
 */
import type { DlpScanner } from '../dlp/types.js'
import type { AddedRun } from './patch-parser.js'

export interface LineFinding {
  rule: string
  /** 1-based line number where the finding starts. */
  line: number
  encoding?: string
}

/** Findings of one run, one per rule and line, in line order. */
export function scanRun(scanner: DlpScanner, run: AddedRun): LineFinding[] {
  const { lines, firstLine } = run
  if (lines.length === 0) return []
  const whole = scanner.scanText(lines.join('\n'), 'run')
  if (whole.length === 0) return []

  const found = new Map<string, LineFinding>()
  const add = (rule: string, index: number, encoding: string | undefined) => {
    const key = `${rule}\u0000${index}`
    if (!found.has(key)) found.set(key, { rule, line: firstLine + index, ...(encoding !== undefined ? { encoding } : {}) })
  }
  const rulesOnLines = new Set<string>()
  if (lines.length === 1) {
    for (const finding of whole) add(finding.rule, 0, finding.encoding)
  } else {
    lines.forEach((line, index) => {
      for (const finding of scanner.scanText(line, 'line')) {
        rulesOnLines.add(finding.rule)
        add(finding.rule, index, finding.encoding)
      }
    })
    for (const finding of whole) {
      if (rulesOnLines.has(finding.rule)) continue
      const span = locateSpan(scanner, lines, finding.rule)
      add(finding.rule, span.start, span.encoding ?? finding.encoding)
    }
  }
  return [...found.values()].sort((a, b) => a.line - b.line || (a.rule < b.rule ? -1 : 1))
}

function has(scanner: DlpScanner, lines: readonly string[], from: number, to: number, rule: string): { encoding?: string } | undefined {
  return scanner.scanText(lines.slice(from, to + 1).join('\n'), 'span').find((f) => f.rule === rule)
}

/** The first span of lines [start, end] that holds `rule`, by two binary searches. */
function locateSpan(scanner: DlpScanner, lines: readonly string[], rule: string): { start: number; encoding?: string } {
  let low = 0
  let high = lines.length - 1
  while (low < high) {
    const mid = (low + high) >> 1
    if (has(scanner, lines, 0, mid, rule)) high = mid
    else low = mid + 1
  }
  const end = low
  low = 0
  high = end
  while (low < high) {
    const mid = (low + high + 1) >> 1
    if (has(scanner, lines, mid, end, rule)) low = mid
    else high = mid - 1
  }
  const hit = has(scanner, lines, low, end, rule)
  return { start: low, ...(hit?.encoding !== undefined ? { encoding: hit.encoding } : {}) }
}
