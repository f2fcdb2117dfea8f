/**
 * A JSON body as a document: every string token (keys and values) is a
 * segment, and so is a run of byte values outside any string (a serialized
 * buffer); locations are JSON paths (`$.messages[2].content`). JSON lines
 * bodies are read whole, with the same joins.
 *
 * The raw text is scanned as well as the parsed strings on purpose: a
 * duplicate key (`{"a": "<secret>", "a": "x"}`) vanishes from JSON.parse's
 * result but not from what a lenient receiver may read.
 */
import { selectSegments, wholeTextDocument, type DocumentSegment, type FieldJoin, type RawRange, type TextDocument } from './inspect-document.js'
import { pairFields } from './join-scan.js'

/** Decides whether a key may appear by name in a location; otherwise it is shown by position. */
export type NameCheck = (name: string) => boolean

interface StringToken {
  start: number
  /** Offset just past the closing quote. */
  end: number
  escaped: boolean
  /** The string with its escapes decoded, once something asked for it (the parts and the joins both do). */
  unescaped?: string
}

/** An escaped token's string, decoded once. */
function unescape(raw: string, tok: StringToken): string {
  return (tok.unescaped ??= JSON.parse(raw.slice(tok.start, tok.end)) as string)
}

/** A JSON string literal: quotes around anything but quotes and backslashes, or escapes (unrolled, so linear). */
const STRING_LITERAL = /"[^"\\]*(?:\\.[^"\\]*)*"/g

/** `stringTokens`, found at the first call and kept. */
function tokensOnce(raw: string): () => StringToken[] {
  let cached: StringToken[] | undefined
  return () => (cached ??= stringTokens(raw))
}

/** String tokens of valid JSON, in order: outside strings, every `"` opens one. */
export function stringTokens(raw: string): StringToken[] {
  const tokens: StringToken[] = []
  // Without a backslash a literal runs from a quote to the next one: native searches find them.
  if (!raw.includes('\\')) {
    for (let open = raw.indexOf('"'); open >= 0; ) {
      const close = raw.indexOf('"', open + 1)
      if (close < 0) break
      tokens.push({ start: open, end: close + 1, escaped: false })
      open = raw.indexOf('"', close + 1)
    }
    return tokens
  }
  STRING_LITERAL.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = STRING_LITERAL.exec(raw)) !== null) {
    const text = m[0]
    tokens.push({ start: m.index, end: m.index + text.length, escaped: text.includes('\\') })
  }
  return tokens
}

interface Frame {
  array: boolean
  /** Arrays: element index. Objects: member index. */
  index: number
  key: string | undefined
  expectKey: boolean
}

function renderPath(frames: readonly Frame[], isSafeName: NameCheck): string {
  let out = '$'
  for (const f of frames) {
    if (f.array) out += `[${f.index}]`
    else if (f.key === undefined) continue
    else if (isSafeName(f.key)) out += /^[A-Za-z_$][\w$]*$/.test(f.key) ? `.${f.key}` : `[${JSON.stringify(f.key)}]`
    else out += `[#${f.index}]`
  }
  return out
}

const STRUCTURAL = /[{}[\]",:]/g

/**
 * JSON paths for sorted raw offsets in one pass: a key or value token names
 * its member; an offset between tokens takes the path of the token after it.
 */
function locateJsonPaths(raw: string, tokens: readonly StringToken[], offsets: readonly number[], isSafeName: NameCheck): string[] {
  const out: string[] = []
  const frames: Frame[] = []
  let t = 0
  let o = 0
  const assignUpTo = (end: number) => {
    while (o < offsets.length && (offsets[o] as number) < end) {
      out.push(renderPath(frames, isSafeName))
      o++
    }
  }
  STRUCTURAL.lastIndex = 0
  let m: RegExpExecArray | null
  while (o < offsets.length && (m = STRUCTURAL.exec(raw)) !== null) {
    const top = frames[frames.length - 1]
    const at = m.index
    if (top && !top.array && top.expectKey && m[0] !== '"') assignUpTo(at) // whitespace before a key
    switch (m[0]) {
      case '{':
      case '[':
        if (top && top.array) assignUpTo(at)
        frames.push({ array: m[0] === '[', index: 0, key: undefined, expectKey: m[0] === '{' })
        if (m[0] === '{') (frames[frames.length - 1] as Frame).index = -1
        break
      case '}':
      case ']':
        assignUpTo(at + 1)
        frames.pop()
        break
      case ',':
        assignUpTo(at + 1)
        if (top) {
          if (top.array) top.index++
          else top.expectKey = true
        }
        break
      case ':':
        if (top) top.expectKey = false
        break
      case '"': {
        while (t < tokens.length && (tokens[t] as StringToken).start < at) t++
        const token = tokens[t] as StringToken
        if (top && !top.array && top.expectKey) {
          top.index++
          top.key = JSON.parse(raw.slice(token.start, token.end)) as string
        }
        assignUpTo(token.end)
        STRUCTURAL.lastIndex = token.end
        break
      }
    }
  }
  assignUpTo(Number.POSITIVE_INFINITY)
  return out
}

/** The body as a document, or undefined when it is not valid JSON. */
export function jsonDocument(raw: string, location: string, isSafeName: NameCheck, tokens: () => StringToken[] = tokensOnce(raw)): TextDocument | undefined {
  try {
    JSON.parse(raw)
  } catch {
    return undefined
  }
  return {
    raw,
    segmentsFor(ranges) {
      if (ranges.length === 0 && !raw.includes('\\')) return []
      const all: DocumentSegment[] = tokens().map((tok) =>
        tok.escaped
          ? { text: unescape(raw, tok), rawStart: tok.start, rawEnd: tok.end, rawCovered: false }
          : { text: '', rawStart: tok.start, rawEnd: tok.end, rawCovered: true },
      )
      // Only the chosen parts pay for their slice.
      const chosen = selectSegments(all, ranges).map((seg) => (seg.rawCovered ? { ...seg, text: raw.slice(seg.rawStart + 1, seg.rawEnd - 1) } : seg))
      const between = rangesOutside(raw, ranges, all)
      return between.length === 0 ? chosen : [...chosen, ...between].sort((a, b) => a.rawStart - b.rawStart)
    },
    alwaysRead: () => tokens().flatMap((tok) => (tok.escaped ? [[tok.start, tok.end] as const] : [])),
    locate: (offsets) => locateJsonPaths(raw, tokens(), offsets, isSafeName).map((path) => `${location}.json:${path}`),
    joins: () => jsonJoins(raw, tokens(), `${location}.json(joined)`),
  }
}

/**
 * Ranges that lie outside every string, as parts of their own: what is
 * encoded there is numbers, and a receiver reads an array of byte values
 * (a serialized buffer: `"data":[103,104,...]`) as the bytes it holds.
 */
function rangesOutside(raw: string, ranges: readonly RawRange[], parts: readonly DocumentSegment[]): DocumentSegment[] {
  const out: DocumentSegment[] = []
  let t = 0
  for (const [start, end] of ranges) {
    while (t < parts.length && (parts[t] as DocumentSegment).rawEnd <= start) t++
    const next = parts[t]
    if (next !== undefined && next.rawStart < end) continue
    out.push({ text: raw.slice(start, end), rawStart: start, rawEnd: end, rawCovered: true })
  }
  return out
}

/** A key is a string token followed (after whitespace) by a colon. */
function isKey(raw: string, token: StringToken): boolean {
  for (let i = token.end; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 58) return true
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false
  }
  return false
}

/**
 * The values in order (array elements and sibling members: `["<part1>",
 * "<part2>"]`), and each key with its string value (`{"<part1>": "<part2>"}`).
 * Tokens are unescaped only when they have escapes.
 */
function jsonJoins(raw: string, tokens: readonly StringToken[], joinedLocation: string): FieldJoin[] {
  const text = (tok: StringToken) => (tok.escaped ? unescape(raw, tok) : raw.slice(tok.start + 1, tok.end - 1))
  const values: string[] = []
  const pairs: [string, string][] = []
  let key: string | undefined
  for (const tok of tokens) {
    if (isKey(raw, tok)) {
      key = text(tok)
      continue
    }
    const value = text(tok)
    values.push(value)
    // A string value right after its key (the key's colon, then this token).
    if (key !== undefined && /^\s*:\s*$/.test(raw.slice(keyEnd(raw, tok), tok.start))) pairs.push([key, value])
    key = undefined
  }
  return [
    { fields: values, location: joinedLocation },
    { fields: pairFields(pairs), location: joinedLocation },
  ]
}

/** Where the token before `tok` ends: the text between is what separates them. */
function keyEnd(raw: string, tok: StringToken): number {
  let i = tok.start - 1
  while (i >= 0 && raw.charCodeAt(i) !== 34) i--
  return i + 1
}

/**
 * A body declared as JSON, before anyone knows whether it is: JSON.parse
 * (the validity check) runs only when a part or a location is needed. When
 * the raw text has no escapes and nothing for the deeper layers, both
 * readings select no part, so the parse, and the copy of the body it makes,
 * are skipped: that is most clean bodies. Malformed JSON reads as `asText`.
 */
export function lazyJsonDocument(raw: string, location: string, isSafeName: NameCheck, asText: () => TextDocument): TextDocument {
  let resolved: TextDocument | undefined
  const tokens = tokensOnce(raw)
  const doc = () => (resolved ??= jsonDocument(raw, location, isSafeName, tokens) ?? asText())
  return {
    raw,
    segmentsFor(ranges) {
      // Valid JSON selects only escaped tokens without ranges; text selects nothing without ranges.
      if (ranges.length === 0 && !raw.includes('\\')) return []
      return doc().segmentsFor(ranges)
    },
    // Without a backslash no string has escapes; with one, the parse is needed for the parts anyway.
    alwaysRead: () => (raw.includes('\\') ? (doc().alwaysRead?.() ?? []) : []),
    locate: (offsets) => doc().locate(offsets),
    // Joins need the string tokens, not the validity check: a lenient receiver reads malformed JSON's strings too.
    joins: () => jsonJoins(raw, tokens(), `${location}.json(joined)`),
  }
}

/**
 * JSON lines (NDJSON, JSONL, JSON text sequences: one JSON value per
 * record, as batch and bulk APIs take them): read whole as text, every
 * record's strings with their escapes being in it, and its strings joined
 * in order across records, as a receiver that reassembles them would.
 */
export function jsonLinesDocument(raw: string, location: string): TextDocument {
  const tokens = tokensOnce(raw)
  return { ...wholeTextDocument(raw, `${location}.jsonl`), joins: () => jsonJoins(raw, tokens(), `${location}.jsonl(joined)`) }
}
