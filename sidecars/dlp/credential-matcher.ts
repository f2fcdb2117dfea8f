/**
 * Runs a table of credential patterns over a text in one prefilter pass plus
 * the regexes whose keywords occur. Most traffic holds none of the ~100
 * keywords, so a 64 KiB body costs one native alternation scan instead of
 * one scan per pattern.
 */
import type { CredentialMatch, CredentialPattern } from './types.js'

export type CredentialFinder = (text: string) => CredentialMatch[]

interface CompiledPattern {
  id: string
  regex: RegExp
  verify: ((match: string) => boolean) | undefined
}

function escapeRegex(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** `[aA][pP][iI]`: case-insensitive without the `i` flag, so it can share one regex with exact keywords. */
function anyCase(literal: string): string {
  let out = ''
  for (const ch of literal) {
    const lower = ch.toLowerCase()
    const upper = ch.toUpperCase()
    out += lower === upper ? escapeRegex(ch) : `[${lower}${upper}]`
  }
  return out
}

/**
 * Keyword hits come from a left-to-right, non-overlapping scan, so a hit on
 * keyword B can hide keyword A when A starts inside B (`api-key-` hides
 * `key-`). A hit on B therefore also triggers every A that is a substring of
 * B or that begins with a proper suffix of B. Over-triggering only costs a
 * regex run; under-triggering would miss a secret.
 */
function overlaps(b: string, a: string): boolean {
  if (b.includes(a)) return true
  for (let i = 1; i < b.length; i++) {
    if (a.startsWith(b.slice(i))) return true
  }
  return false
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
  const keywordOwners = new Map<string, Set<number>>() // lowercased keyword -> pattern indexes
  const exactKeywords = new Set<string>()
  const foldedKeywords = new Set<string>()
  patterns.forEach((p, index) => {
    if (!prefilter || !p.keywords || p.keywords.length === 0) {
      always.push(index)
      return
    }
    const folded = p.pattern.flags.includes('i')
    for (const keyword of p.keywords) {
      const key = keyword.toLowerCase()
      if (folded) foldedKeywords.add(keyword.toLowerCase())
      else exactKeywords.add(keyword)
      let owners = keywordOwners.get(key)
      if (!owners) keywordOwners.set(key, (owners = new Set()))
      owners.add(index)
    }
  })

  const triggers = new Map<string, readonly number[]>()
  for (const b of keywordOwners.keys()) {
    const set = new Set<number>()
    for (const [a, owners] of keywordOwners) if (overlaps(b, a)) for (const i of owners) set.add(i)
    triggers.set(b, [...set])
  }

  const alternatives = [
    ...[...exactKeywords].map((k) => ({ k, source: escapeRegex(k) })),
    ...[...foldedKeywords].map((k) => ({ k, source: anyCase(k) })),
  ].sort((x, y) => y.k.length - x.k.length) // longest first: at one position the longer keyword wins
  const keywordScan = alternatives.length > 0 ? new RegExp(alternatives.map((a) => a.source).join('|'), 'g') : undefined

  return (text: string): CredentialMatch[] => {
    let selected: Iterable<number>
    if (keywordScan) {
      const chosen = new Set<number>(always)
      const hits = text.match(keywordScan)
      if (hits) {
        const seen = new Set<string>()
        for (const hit of hits) {
          const key = hit.toLowerCase()
          if (seen.has(key)) continue
          seen.add(key)
          for (const i of triggers.get(key) ?? []) chosen.add(i)
        }
      }
      selected = [...chosen].sort((x, y) => x - y)
    } else {
      selected = always
    }

    const out: CredentialMatch[] = []
    for (const index of selected) {
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
        let index = m.index
        for (let g = 1; g < m.length; g++) {
          const group = m[g]
          const span = m.indices?.[g]
          if (group !== undefined && span) {
            index = span[0]
            value = group
            break
          }
        }
        if (p.verify && !p.verify(value)) continue
        out.push({ rule: p.id, index, length: value.length })
      }
    }
    return out
  }
}
