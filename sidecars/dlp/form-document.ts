/**
 * An `application/x-www-form-urlencoded` body as a document: each `name=value`
 * pair is a segment, located as `<location>.form:<name>`.
 */
import { selectSegments, type DocumentSegment, type FieldJoin, type TextDocument } from './inspect-document.js'
import { pairFields } from './join-scan.js'
import type { NameCheck } from './json-document.js'

interface Pair {
  start: number
  end: number
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return text
  }
}

export function formDocument(raw: string, location: string, isSafeName: NameCheck): TextDocument {
  const pairs: Pair[] = []
  let start = 0
  for (;;) {
    const amp = raw.indexOf('&', start)
    const end = amp < 0 ? raw.length : amp
    if (end > start) pairs.push({ start, end })
    if (amp < 0) break
    start = amp + 1
  }
  const segments: DocumentSegment[] = pairs.map((p) => ({ text: raw.slice(p.start, p.end), rawStart: p.start, rawEnd: p.end, rawCovered: true }))
  const nameOf = (index: number): string => {
    const pair = pairs[index] as Pair
    const text = raw.slice(pair.start, pair.end)
    const eq = text.indexOf('=')
    const name = decodeComponent(eq < 0 ? text : text.slice(0, eq))
    return isSafeName(name) ? name : `#${index}`
  }
  return {
    raw,
    joins: () => pairJoins(raw, pairs, `${location}.form(joined)`),
    segmentsFor: (ranges) => selectSegments(segments, ranges),
    locate: (offsets) =>
      offsets.map((offset) => {
        // The pair containing the offset, or the one after the `&` it sits on.
        let lo = 0
        let hi = pairs.length - 1
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1
          if ((pairs[mid] as Pair).start <= offset) lo = mid
          else hi = mid - 1
        }
        return pairs.length > 0 ? `${location}.form:${nameOf(lo)}` : `${location}.form`
      }),
  }
}

/** `a=1&b=2` pairs as joins: the values alone, and each name with its value (`<part1>=<part2>`). */
export function pairJoins(raw: string, pairs: readonly { start: number; end: number }[], location: string): FieldJoin[] {
  const values: string[] = []
  const named: [string, string][] = []
  for (const pair of pairs) {
    const text = raw.slice(pair.start, pair.end)
    const eq = text.indexOf('=')
    const name = decodeComponent(eq < 0 ? text : text.slice(0, eq))
    const value = eq < 0 ? '' : decodeComponent(text.slice(eq + 1))
    named.push([name, value])
    values.push(value)
  }
  return [
    { fields: values, location },
    { fields: pairFields(named), location },
  ]
}
