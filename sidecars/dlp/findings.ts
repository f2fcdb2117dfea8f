/**
 * Collects findings for one scan: one finding per rule and location (the
 * first, shallowest one wins), in the order they were found. Locations are
 * resolved lazily because naming a JSON path costs a pass over the body and
 * most scans find nothing.
 */
import type { DlpFinding } from './types.js'

interface Pending {
  rule: string
  /** A raw offset into the document, or an already resolved location. */
  at: number | string
  encoding: string | undefined
}

/** Where findings go: a collector, or a view of one that records how the input was unwrapped first. */
export interface FindingSink {
  add(rule: string, at: number | string, encoding: string | undefined): void
}

export class FindingCollector implements FindingSink {
  private readonly pending: Pending[] = []

  add(rule: string, at: number | string, encoding: string | undefined): void {
    this.pending.push({ rule, at, encoding })
  }

  /** A sink whose findings carry `prefix` (e.g. `gzip`) ahead of their own encoding chain. */
  unwrapped(prefix: string | undefined): FindingSink {
    if (prefix === undefined) return this
    return { add: (rule, at, encoding) => this.add(rule, at, encoding === undefined ? prefix : `${prefix}+${encoding}`) }
  }

  get size(): number {
    return this.pending.length
  }

  /** Resolve raw offsets to locations with `locate` (one batch call), then dedupe by rule and location. */
  resolve(locate: (offsets: readonly number[]) => readonly string[]): DlpFinding[] {
    const offsets = [...new Set(this.pending.flatMap((p) => (typeof p.at === 'number' ? [p.at] : [])))].sort((a, b) => a - b)
    const names = offsets.length > 0 ? locate(offsets) : []
    const byOffset = new Map<number, string>(offsets.map((o, i) => [o, names[i] ?? '']))
    const seen = new Set<string>()
    const out: DlpFinding[] = []
    for (const p of this.pending) {
      const location = typeof p.at === 'number' ? (byOffset.get(p.at) as string) : p.at
      const key = `${p.rule}\u0000${location}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push(p.encoding === undefined ? { rule: p.rule, location } : { rule: p.rule, location, encoding: p.encoding })
    }
    return withoutRedundantJoins(out)
  }
}

const JOINED = '(joined)'

/**
 * A join (`body.json(joined)`) also sees whatever one of its fields holds
 * whole, often with a neighbour appended; when a field of the same document
 * (`body.json:$.a`, or `body.text` when the JSON did not parse) already
 * reports the rule, the join's finding adds nothing but noise.
 */
function withoutRedundantJoins(findings: DlpFinding[]): DlpFinding[] {
  if (!findings.some((f) => f.location.endsWith(JOINED))) return findings
  const rootOf = (location: string) => location.split(/[.(:[]/, 1)[0] as string
  return findings.filter((f) => {
    if (!f.location.endsWith(JOINED)) return true
    const root = rootOf(f.location)
    return !findings.some((other) => other.rule === f.rule && !other.location.endsWith(JOINED) && rootOf(other.location) === root)
  })
}
