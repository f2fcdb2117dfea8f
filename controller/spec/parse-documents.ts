import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml'
import type { SpecErrorCode } from './errors.js'

/** Bounds that stop hostile YAML before it costs time or memory. */
const MAX_ALIAS_COUNT = 50
const MAX_FLOW_DEPTH = 64
const MAX_INDENT = 512
const MAX_DOCUMENTS = 500

export interface Position {
  line: number
  column: number
}

export type FieldPath = readonly (string | number)[]

export interface ParsedDocument {
  /** 0-based index of the document in its file. */
  index: number
  value: unknown
  /** Position of the node at `path` (or of its key, with `key: true`); the closest existing ancestor when absent. */
  locate(path: FieldPath, options?: { key?: boolean }): Position
}

export interface ParseProblem {
  code: SpecErrorCode
  message: string
  position: Position
  /** The document the problem is in, when the parser got that far. */
  documentIndex?: number
}

export interface ParseResult {
  documents: ParsedDocument[]
  problems: ParseProblem[]
}

/**
 * Parses every YAML document in `text`. `lineOffset` shifts reported lines
 * (frontmatter starts after its fence). A document with syntax errors is
 * reported and left out; the others are still returned.
 */
export function parseYamlDocuments(text: string, lineOffset = 0): ParseResult {
  const guard = checkResourceBounds(text)
  if (guard) return { documents: [], problems: [{ ...guard, position: shift(guard.position, lineOffset) }] }

  const lineCounter = new LineCounter()
  const positionAt = (offset: number): Position => {
    const p = lineCounter.linePos(offset)
    return { line: p.line + lineOffset, column: p.col }
  }
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, strict: true, prettyErrors: false, schema: 'core', merge: false })
  const list = Array.isArray(docs) ? docs : [docs]
  const problems: ParseProblem[] = []
  const documents: ParsedDocument[] = []
  if (list.length > MAX_DOCUMENTS) {
    return { documents: [], problems: [{ code: 'yaml-resource-limit', message: `has ${list.length} YAML documents; at most ${MAX_DOCUMENTS} are read from one file`, position: positionAt(0) }] }
  }
  list.forEach((doc, index) => {
    const err = doc.errors[0]
    if (err) {
      // The parser's later errors are usually echoes of the first; one clear line is what helps.
      problems.push({ code: 'yaml-syntax', message: `YAML syntax: ${cleanYamlMessage(err.message)}`, position: positionAt(err.pos[0]), documentIndex: index })
      return
    }
    if (doc.contents === null) return // an empty document (a trailing `---`) holds nothing
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
    } catch (err) {
      const message = err instanceof Error && /alias/i.test(err.message)
        ? 'uses too many YAML aliases (a resource exhaustion guard); expand them by hand'
        : `cannot be converted: ${err instanceof Error ? cleanYamlMessage(err.message) : String(err)}`
      problems.push({ code: 'yaml-resource-limit', message, position: positionAt(doc.range[0]), documentIndex: index })
      return
    }
    documents.push({ index, value, locate: (path, options) => locate(doc, path, positionAt, options?.key ?? false) })
  })
  return { documents, problems }
}

function shift(p: Position, lines: number): Position {
  return { line: p.line + lines, column: p.column }
}

/**
 * A linear pre-scan: flow collections nested absurdly deep or indentation
 * beyond any real spec make the parser slow (seconds for 20,000 levels).
 */
function checkResourceBounds(text: string): Omit<ParseProblem, 'documentIndex'> | undefined {
  let depth = 0
  let line = 1
  let column = 0
  let lineStart = true
  let indent = 0
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    column++
    if (c === '\n') {
      line++
      column = 0
      lineStart = true
      indent = 0
      quote = undefined
      continue
    }
    if (lineStart) {
      if (c === ' ') {
        indent++
        if (indent > MAX_INDENT) return { code: 'yaml-resource-limit', message: `is indented more than ${MAX_INDENT} columns; nesting that deep is refused`, position: { line, column } }
        continue
      }
      lineStart = false
    }
    if (quote) {
      if (c === quote) quote = undefined
      continue
    }
    if (c === '"' || c === "'") quote = c
    else if (c === '#') {
      const nl = text.indexOf('\n', i)
      if (nl < 0) break
      i = nl - 1
    } else if (c === '[' || c === '{') {
      depth++
      if (depth > MAX_FLOW_DEPTH) return { code: 'yaml-resource-limit', message: `nests collections more than ${MAX_FLOW_DEPTH} levels deep; that is refused`, position: { line, column } }
    } else if (c === ']' || c === '}') {
      depth = Math.max(0, depth - 1)
    }
  }
  return undefined
}

function cleanYamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message
  return first.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '')
}

function locate(doc: Document, path: FieldPath, positionAt: (offset: number) => Position, wantKey: boolean): Position {
  let node: Node | null | undefined = doc.contents as Node | null
  let best = node?.range?.[0] ?? 0
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg))
      if (!pair) break
      const key = pair.key as Node
      if (last && wantKey && key.range) return positionAt(key.range[0])
      const value = pair.value as Node | null
      if (value && value.range) {
        node = value
        best = value.range[0]
      } else {
        if (key.range) best = key.range[0]
        break
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined
      if (!item?.range) break
      node = item
      best = item.range[0]
    } else {
      break
    }
  }
  return positionAt(best)
}
