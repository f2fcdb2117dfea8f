/**
 * A document is raw text (a JSON body, a form body, a URL) plus the parts a
 * receiver will read out of it. The surface layer runs once over the whole
 * raw text, which is one native pass and keeps the context between parts
 * (`"password": "..."`); the deeper layers run only for the parts that hold
 * something to normalize or decode, and for parts whose text differs from
 * their raw form (JSON escapes, quoted-printable).
 */
import type { DecodeBudget } from './decode-variants.js'
import { byteViewOf, findEncodedRuns } from './decode-variants.js'
import type { FindingSink } from './findings.js'
import { detectLayer, inspectBelowSurface, type Detectors } from './inspect-layers.js'
import { inspectJoin, joinMatcher } from './join-scan.js'

export interface DocumentSegment {
  /** The text a receiver reads for this part (escapes decoded). */
  text: string
  /** Where the part sits in the raw text: names it and decides whether it needs the deeper layers. */
  rawStart: number
  rawEnd: number
  /** `text` is exactly `raw.slice(rawStart, rawEnd)`, so the raw pass already covered its surface. */
  rawCovered: boolean
}

export type RawRange = readonly [start: number, end: number]

export interface TextDocument {
  raw: string
  /** `raw` as bytes when character i is byte i (ASCII or latin1): the whole-text passes then read bytes. */
  rawBytes?: Uint8Array
  /**
   * The parts that need a look beyond the raw text: those overlapping one of
   * `ranges` (sorted by start), and every part whose text differs from its
   * raw form. Documents build parts lazily, since most bodies need none.
   */
  segmentsFor(ranges: readonly RawRange[]): DocumentSegment[]
  /**
   * The document is one part, its raw text: the deeper layers read it whole,
   * with no first pass for the ranges that would select parts.
   */
  whole?: boolean
  /**
   * Raw ranges (sorted) of parts that are read whatever ranges select, such
   * as JSON strings with escapes: the pass that finds ranges skips them.
   */
  alwaysRead?(): readonly RawRange[]
  /** Locations for raw offsets (sorted ascending), in the caller's vocabulary, same order. */
  locate(offsets: readonly number[]): readonly string[]
  /** Findings the parser made itself (a part it could not read), at raw offsets. */
  notes?: readonly { rule: string; at: number; encoding: string | undefined }[]
  /**
   * The sequences of fields a receiver may concatenate, each in document
   * order, as the receiver reads them (`join-scan.ts`), and the location to
   * report a join's findings at. Absent: the document is one field.
   */
  joins?(): readonly FieldJoin[]
}

export interface FieldJoin {
  fields: readonly string[]
  location: string
}

/** A text read whole, one part: every finding is located at `location`. */
export function wholeTextDocument(raw: string, location: string): TextDocument {
  const whole = [{ text: raw, rawStart: 0, rawEnd: raw.length, rawCovered: true }]
  return {
    raw,
    whole: true,
    segmentsFor: (ranges) => selectSegments(whole, ranges),
    locate: (offsets) => offsets.map(() => location),
  }
}

/** Segments from a complete, sorted list: every uncovered one, and every one a range overlaps. */
export function selectSegments(all: readonly DocumentSegment[], ranges: readonly RawRange[]): DocumentSegment[] {
  const out: DocumentSegment[] = []
  // After skipping ranges that end before a segment, the next range either overlaps it or starts after it.
  let r = 0
  for (const seg of all) {
    while (r < ranges.length && (ranges[r] as RawRange)[1] <= seg.rawStart) r++
    const next = ranges[r]
    if (!seg.rawCovered || (next !== undefined && next[0] < seg.rawEnd)) out.push(seg)
  }
  return out
}

/**
 * Acted-on characters this close share one range. A wider range can only
 * select more parts, and a part selected that way holds no encoded run and
 * nothing normalization acts on (those would have ranges of their own), so
 * its deeper layers find nothing: the findings are the same, at one range
 * per stretch of escaped text instead of one per escape.
 */
const ACTED_ON_GAP = 256

/**
 * Raw ranges that hold something the deeper layers would act on, sorted by
 * start, and whether any of them holds a character normalization or escape
 * decoding acts on (rather than only encoded runs).
 */
function deepRanges(raw: string, rawBytes: Uint8Array | undefined): { ranges: RawRange[]; actedOn: boolean } {
  const actedOn: [number, number][] = []
  const ranges: RawRange[] = findEncodedRuns(raw, actedOn, rawBytes, ACTED_ON_GAP).map((r) => [r.start, r.end])
  if (actedOn.length === 0) return { ranges: ranges.sort((a, b) => a[0] - b[0]), actedOn: false }
  if (ranges.length === 0) return { ranges: actedOn, actedOn: true }
  // actedOn comes sorted and never starts where a run does (they hold different characters): merge.
  ranges.sort((a, b) => a[0] - b[0])
  const out: RawRange[] = []
  let r = 0
  for (const range of actedOn) {
    while (r < ranges.length && (ranges[r] as RawRange)[0] < range[0]) out.push(ranges[r++] as RawRange)
    out.push(range)
  }
  while (r < ranges.length) out.push(ranges[r++] as RawRange)
  return { ranges: out, actedOn: true }
}

/** Text shorter than this between skipped parts is searched as a string, without a byte view. */
const BYTE_VIEW_FROM = 512

/**
 * `deepRanges` over the raw text outside `skipped`. Encoded runs and
 * acted-on characters never cross a skipped part's edge when, like a JSON
 * string, it opens and closes with a character that is neither; ranges that
 * the whole-text pass would join across a skipped part stay apart, which
 * selects the same parts that matter (see ACTED_ON_GAP).
 */
function deepRangesBetween(raw: string, rawBytes: Uint8Array | undefined, skipped: readonly RawRange[]): { ranges: RawRange[]; actedOn: boolean } {
  const ranges: RawRange[] = []
  let actedOn = false
  let from = 0
  const between = (to: number) => {
    if (to <= from) return
    const part = deepRanges(raw.slice(from, to), to - from >= BYTE_VIEW_FROM ? rawBytes?.subarray(from, to) : undefined)
    for (const [start, end] of part.ranges) ranges.push([start + from, end + from])
    actedOn ||= part.actedOn
  }
  for (const [start, end] of skipped) {
    between(start)
    from = Math.max(from, end)
  }
  between(raw.length)
  return { ranges, actedOn }
}

/** The deeper layers over the whole raw text; its joins are then read as not known to be plain. */
function inspectWhole(doc: TextDocument, detectors: Detectors, collector: FindingSink, budget: DecodeBudget): boolean {
  inspectBelowSurface(doc.raw, [], 0, detectors, budget, (rule, encoding) => collector.add(rule, 0, encoding), doc.rawBytes)
  return false
}

/** The deeper layers over the parts that need them; returns whether no part holds anything normalization acts on. */
function inspectParts(doc: TextDocument, detectors: Detectors, collector: FindingSink, budget: DecodeBudget): boolean {
  const skipped = doc.alwaysRead?.() ?? []
  const deep = skipped.length === 0 ? deepRanges(doc.raw, doc.rawBytes) : deepRangesBetween(doc.raw, doc.rawBytes, skipped)
  for (const seg of doc.segmentsFor(deep.ranges)) {
    const report = (rule: string, encoding: string | undefined) => collector.add(rule, seg.rawStart, encoding)
    // A long escaped JSON string (code or prose, with \n and \" everywhere) is read as bytes, accents and all.
    const bytes = byteViewOf(seg.text)
    if (!seg.rawCovered) for (const hit of detectLayer(seg.text, detectors, bytes)) report(hit.rule, hit.encoding)
    inspectBelowSurface(seg.text, [], 0, detectors, budget, report, bytes)
  }
  // No acted-on character anywhere in the raw text: no part holds anything normalization would change.
  // A part read whatever the ranges say holds escapes, which are acted on.
  return !deep.actedOn && skipped.length === 0
}

export function inspectDocument(doc: TextDocument, detectors: Detectors, collector: FindingSink, budget: DecodeBudget): void {
  for (const note of doc.notes ?? []) collector.add(note.rule, note.at, note.encoding)
  for (const hit of detectLayer(doc.raw, detectors, doc.rawBytes)) collector.add(hit.rule, hit.index, hit.encoding)
  const plain = doc.whole ? inspectWhole(doc, detectors, collector, budget) : inspectParts(doc, detectors, collector, budget)
  for (const join of doc.joins?.() ?? []) {
    inspectJoin(join.fields, detectors, joinMatcher(), (rule, encoding) => collector.add(rule, join.location, encoding), plain)
  }
}
