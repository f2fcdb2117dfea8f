/**
 * Adds one egress route to a Bottle as a surgical text insertion, so the
 * file keeps its comments, quoting, key order and layout, and the diff a
 * user commits is exactly the new route. Positions come from the `yaml`
 * package's parse of the file (the same parse the loader uses); the new
 * text follows the style of what it lands in (block or flow, the
 * indentation of the neighbouring items, the file's line endings).
 *
 * After the insertion the whole file is parsed again and compared with the
 * old one: every document must be unchanged except the Bottle, which must
 * equal its old value plus the route. Anything else is refused, so an
 * unusual layout can never turn into a wrong edit.
 */
import { isDeepStrictEqual } from 'node:util'
import { isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml'

export interface RouteToAdd {
  host: string
  paths?: string[]
  /** Chosen by the approver, never by the agent. */
  upstream?: string
}

export interface EditTarget {
  format: 'yaml' | 'markdown'
  /** Index of the Bottle's document in the file (in the frontmatter for Markdown). */
  documentIndex: number
}

export class RouteEditError extends Error {
  override readonly name = 'RouteEditError'
}

const PARSE_OPTIONS = { uniqueKeys: true, strict: true, schema: 'core', merge: false } as const
const FRONTMATTER_OPEN = /^---[ \t]*\r?\n/
const FRONTMATTER_CLOSE = /^(?:---|\.\.\.)[ \t]*$/m

/** The text of the file with `route` appended to the Bottle's egress routes. */
export function addRouteToSpecText(text: string, target: EditTarget, route: RouteToAdd): string {
  if (target.format === 'yaml') return addRouteToYaml(text, target.documentIndex, route, false)
  const open = FRONTMATTER_OPEN.exec(text)
  const close = open ? FRONTMATTER_CLOSE.exec(text.slice(open[0].length)) : null
  if (!open || !close) throw new RouteEditError('has no YAML frontmatter between --- lines')
  const start = open[0].length
  const end = start + close.index
  return text.slice(0, start) + addRouteToYaml(text.slice(start, end), target.documentIndex, route, true) + text.slice(end)
}

function addRouteToYaml(yaml: string, documentIndex: number, route: RouteToAdd, markdown: boolean): string {
  const before = parseAll(yaml)
  const doc = before.docs[documentIndex]
  if (!doc || !isMap(doc.contents)) throw new RouteEditError(`has no mapping at document ${documentIndex + 1}`)
  // A Markdown spec may write its fields flat, without `spec:` (the older layout).
  const flat = markdown && !doc.contents.has('spec')
  const path = flat ? ['egress', 'routes'] : ['spec', 'egress', 'routes']
  const newline = yaml.includes('\r\n') ? '\r\n' : '\n'
  const { offset, insert } = planInsertion(yaml, doc.contents, path, route, newline)
  const after = yaml.slice(0, offset) + insert + yaml.slice(offset)
  verify(before.values, parseAll(after).values, documentIndex, path, route)
  return after
}

interface Insertion {
  offset: number
  insert: string
}

function planInsertion(text: string, root: YAMLMap, path: string[], route: RouteToAdd, nl: string): Insertion {
  let container: YAMLMap = root
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!
    const rest = path.slice(i)
    const pair = container.items.find((p): p is Pair<Node, Node | null> => isPair(p) && isScalar(p.key) && p.key.value === key)
    if (!pair) return container.flow ? insertIntoFlowMap(text, container, flowEntry(rest, route)) : insertIntoBlockMap(text, container, rest, route, nl)
    const value = pair.value
    if (value === null || (isScalar(value) && value.value === null && value.source === '')) {
      // `key:` with nothing after it: the new content goes on the next lines, indented under the key.
      const keyStart = (pair.key as Node).range![0]
      const at = lineEnd(text, keyStart, nl)
      return { offset: at.offset, insert: at.prefix + blockLines(path.slice(i + 1), route, column(text, keyStart) + 2, nl) }
    }
    if (i === path.length - 1) {
      if (!isSeq(value)) throw new RouteEditError(`${path.join('.')} is not a list`)
      return value.flow ? insertIntoFlowSeq(text, value, flowRoute(route)) : insertIntoBlockSeq(text, value, route, nl)
    }
    if (!isMap(value)) throw new RouteEditError(`${path.slice(0, i + 1).join('.')} is not a mapping`)
    container = value
  }
  throw new RouteEditError('unreachable')
}

function insertIntoBlockSeq(text: string, seq: YAMLSeq, route: RouteToAdd, nl: string): Insertion {
  const dash = seq.range![0]
  const dashColumn = column(text, dash)
  const first = seq.items[0] as Node | undefined
  // Continuation lines line up with the first item's content (`- host:` then `  paths:`).
  const contentColumn = first?.range && isMap(first) && !first.flow ? column(text, first.range[0]) : dashColumn + 2
  const at = lineStartAtOrAfter(text, seq.range![1], nl)
  return { offset: at.offset, insert: at.prefix + routeItemLines(route, dashColumn, contentColumn - dashColumn, nl) }
}

function insertIntoBlockMap(text: string, map: YAMLMap, keys: string[], route: RouteToAdd, nl: string): Insertion {
  const firstKey = (map.items[0] as Pair<Node, unknown> | undefined)?.key
  if (!firstKey?.range) throw new RouteEditError('cannot place a key in an empty block mapping')
  const at = lineStartAtOrAfter(text, map.range![1], nl)
  return { offset: at.offset, insert: at.prefix + blockLines(keys, route, column(text, firstKey.range[0]), nl) }
}

function insertIntoFlowSeq(text: string, seq: YAMLSeq, item: string): Insertion {
  const last = seq.items[seq.items.length - 1] as Node | undefined
  if (last?.range) return { offset: last.range[1], insert: `, ${item}` }
  const open = text.indexOf('[', seq.range![0])
  return { offset: open + 1, insert: item }
}

function insertIntoFlowMap(text: string, map: YAMLMap, entry: string): Insertion {
  const last = map.items[map.items.length - 1] as Pair<Node, Node | null> | undefined
  const end = last?.value?.range?.[1] ?? last?.key?.range?.[1]
  if (end !== undefined) return { offset: end, insert: `, ${entry}` }
  const open = text.indexOf('{', map.range![0])
  return { offset: open + 1, insert: entry }
}

/** `keys` as nested block mappings at `col`, ending with the route as the only list item. */
function blockLines(keys: string[], route: RouteToAdd, col: number, nl: string): string {
  if (keys.length === 0) return routeItemLines(route, col, 2, nl)
  return `${' '.repeat(col)}${keys[0]}:${nl}${blockLines(keys.slice(1), route, col + 2, nl)}`
}

function routeItemLines(route: RouteToAdd, dashColumn: number, step: number, nl: string): string {
  const pad = ' '.repeat(dashColumn)
  const inner = ' '.repeat(dashColumn + step)
  let out = `${pad}-${' '.repeat(step - 1)}host: ${scalar(route.host)}${nl}`
  if (route.paths) out += `${inner}paths: [${route.paths.map(scalar).join(', ')}]${nl}`
  if (route.upstream) out += `${inner}upstream: ${JSON.stringify(route.upstream)}${nl}`
  return out
}

function flowRoute(route: RouteToAdd): string {
  const parts = [`host: ${scalar(route.host)}`]
  if (route.paths) parts.push(`paths: [${route.paths.map(scalar).join(', ')}]`)
  if (route.upstream) parts.push(`upstream: ${JSON.stringify(route.upstream)}`)
  return `{${parts.join(', ')}}`
}

function flowEntry(keys: string[], route: RouteToAdd): string {
  const [key, ...rest] = keys
  if (rest.length === 0) return `${key}: [${flowRoute(route)}]`
  return `${key}: {${flowEntry(rest, route)}}`
}

/** Plain when that is unambiguous in block and flow context alike, else double-quoted (JSON is valid YAML). */
function scalar(value: string): string {
  return /^[A-Za-z0-9/][A-Za-z0-9._~/%+=@-]*$/.test(value) ? value : JSON.stringify(value)
}

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1)
}

/** The start of the line at `offset`, or of the next line when `offset` is mid-line; a newline is added at the end of the text. */
function lineStartAtOrAfter(text: string, offset: number, nl: string): { offset: number; prefix: string } {
  if (offset === 0 || text[offset - 1] === '\n') return { offset, prefix: '' }
  return lineEnd(text, offset, nl)
}

function lineEnd(text: string, offset: number, nl: string): { offset: number; prefix: string } {
  const next = text.indexOf('\n', offset)
  return next < 0 ? { offset: text.length, prefix: nl } : { offset: next + 1, prefix: '' }
}

function parseAll(text: string): { docs: Document[]; values: unknown[] } {
  const docs = parseAllDocuments(text, PARSE_OPTIONS)
  const list = Array.isArray(docs) ? docs : [docs]
  const broken = list.find((d) => d.errors.length > 0)
  if (broken) throw new RouteEditError(`is not valid YAML (${broken.errors[0]!.message.split('\n')[0]})`)
  return { docs: list, values: list.map((d) => d.toJS()) }
}

function verify(before: unknown[], after: unknown[], index: number, path: string[], route: RouteToAdd): void {
  const expected = structuredClone(before)
  let node = expected[index] as Record<string, unknown>
  for (const key of path.slice(0, -1)) {
    node[key] ??= {}
    node = node[key] as Record<string, unknown>
  }
  const last = path[path.length - 1]!
  node[last] = [...((node[last] as unknown[] | null | undefined) ?? []), { host: route.host, ...(route.paths ? { paths: route.paths } : {}), ...(route.upstream ? { upstream: route.upstream } : {}) }]
  if (!isDeepStrictEqual(expected, after)) throw new RouteEditError('could not be edited safely (its layout is unusual); add the route by hand')
}
