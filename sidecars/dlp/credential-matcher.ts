/**
 * Runs a table of credential patterns over a text: one keyword pass
 * (Aho-Corasick, `keyword-automaton.ts`) decides which regexes can match,
 * and only those run. Most traffic holds none of the keywords, so a 64 KiB
 * body costs one table-driven pass plus the few patterns without keywords.
 */
import { compileKeywordAutomaton } from './keyword-automaton.js'
import type { CredentialMatch, CredentialPattern } from './types.js'

export type CredentialFinder = (text: string) => CredentialMatch[]

interface CompiledPattern {
  id: string
  regex: RegExp
  verify: ((match: string) => boolean) | undefined
}

export function compileCredentialMatcher(patterns: readonly CredentialPattern[], options: { prefilter?: boolean } = {}): CredentialFinder {
  const compiled: CompiledPattern[] = patterns.map((p) => {
    // Private copies: callers may run the exported regexes themselves and leave lastIndex anywhere.
    // Patterns with a capture group get `d` so the group's own offset is known.
    const hasGroup = (new RegExp(`${p.pattern.source}|`).exec('')?.length ?? 1) > 1
    const flags = new Set([...p.pattern.flags, 'g', ...(hasGroup ? ['d'] : [])])
    return { id: p.id, regex: new RegExp(p.pattern.source, [...flags].join('')), verify: p.verify }
  })
  const prefilter = options.prefilter ?? true

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
  const automaton = owners.size > 0 ? compileKeywordAutomaton(owners) : undefined
  const marks = new Uint32Array(patterns.length)
  let call = 0

  const run = (index: number, text: string, out: CredentialMatch[]) => {
    const p = compiled[index] as CompiledPattern
    const re = p.regex
    re.lastIndex = 0
    let m: RegExpExecArray | null
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++
        continue
      }
      let value = m[0]
      let at = m.index
      for (let g = 1; g < m.length; g++) {
        const group = m[g]
        const span = m.indices?.[g]
        if (group !== undefined && span) {
          at = span[0]
          value = group
          break
        }
      }
      if (p.verify && !p.verify(value)) continue
      out.push({ rule: p.id, index: at, length: value.length })
    }
  }

  return (text: string): CredentialMatch[] => {
    const out: CredentialMatch[] = []
    if (!automaton) {
      for (const index of always) run(index, text, out)
      return out
    }
    call = (call + 1) >>> 0 || 1
    if (call === 1) marks.fill(0)
    const selected = [...always]
    automaton.scan(text, (ids) => {
      for (const id of ids) {
        if (marks[id] !== call) {
          marks[id] = call
          selected.push(id)
        }
      }
    })
    if (selected.length > always.length) selected.sort((a, b) => a - b)
    for (const index of selected) run(index, text, out)
    return out
  }
}
