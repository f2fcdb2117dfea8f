/**
 * The parts of a URL that travel in the request line, as a document: path
 * segments (located `<location>.path`), query pairs (`<location>.query:<name>`)
 * and the fragment (`<location>.fragment`).
 */
import { pairJoins } from './form-document.js'
import { selectSegments, type DocumentSegment, type TextDocument } from './inspect-document.js'
import type { NameCheck } from './json-document.js'

export interface UrlDocument extends TextDocument {
  /** Raw (still percent-encoded) path segments, for the entropy check. */
  pathSegments: readonly string[]
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return text
  }
}

export function urlDocument(url: URL, location: string, isSafeName: NameCheck): UrlDocument {
  const path = url.pathname
  const search = url.search
  const hash = url.hash
  const raw = `${path}${search}${hash}`
  const segments: DocumentSegment[] = []
  const pathSegments: string[] = []
  const add = (start: number, end: number) => {
    if (end > start) segments.push({ text: raw.slice(start, end), rawStart: start, rawEnd: end, rawCovered: true })
  }

  let start = 0
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === '/') {
      add(start, i)
      if (i > start) pathSegments.push(path.slice(start, i))
      start = i + 1
    }
  }
  const pairs: { start: number; end: number }[] = []
  const queryStart = path.length + 1
  start = queryStart
  for (let i = queryStart; i <= path.length + search.length; i++) {
    if (i === path.length + search.length || raw[i] === '&') {
      if (i > start) pairs.push({ start, end: i })
      add(start, i)
      start = i + 1
    }
  }
  const hashStart = path.length + search.length
  add(hashStart + 1, raw.length)

  const queryName = (offset: number): string => {
    let index = pairs.findIndex((p) => offset < p.end)
    if (index < 0) index = pairs.length - 1
    const pair = pairs[index]
    if (!pair) return `${location}.query`
    const text = raw.slice(pair.start, pair.end)
    const eq = text.indexOf('=')
    const name = decodeComponent(eq < 0 ? text : text.slice(0, eq))
    return `${location}.query:${isSafeName(name) ? name : `#${index}`}`
  }

  return {
    raw,
    segmentsFor: (ranges) => selectSegments(segments, ranges),
    joins: () => [{ fields: pathSegments, location: `${location}.path(joined)` }, ...pairJoins(raw, pairs, `${location}.query(joined)`)],
    pathSegments,
    locate: (offsets) =>
      offsets.map((offset) => {
        if (offset < path.length) return `${location}.path`
        if (offset < hashStart) return queryName(offset)
        return `${location}.fragment`
      }),
  }
}
