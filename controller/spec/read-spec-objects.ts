import { basename, dirname, join } from 'node:path'
import { createHash } from 'node:crypto'
import { checkAgentRules, checkBottleRules } from './check-rules.js'
import { didYouMean } from './did-you-mean.js'
import { formatFieldPath, type SpecError, type SpecErrorCode } from './errors.js'
import type { SpecFileEntry } from './list-spec-files.js'
import { findLiteralSecrets } from './literal-secrets.js'
import { parseYamlDocuments, type FieldPath, type ParsedDocument, type Position } from './parse-documents.js'
import { readSpecFile } from './read-spec-file.js'
import { schemaProblems } from './schema-errors.js'
import { API_VERSION, isSpecKind, SPEC_KINDS, validateAgainstCrd, type SpecKind } from './schemas.js'
import { splitFrontmatter } from './split-frontmatter.js'
import type { Agent, Bottle, LoadedObject, SpecObject } from './types.js'

/** An object read from a file: its name when it has one, and everything wrong with it on its own. */
export interface ObjectCandidate {
  kind: SpecKind
  name: string | undefined
  object: LoadedObject
  /** Errors found in this object alone (schema, rules, literal secrets). */
  errors: SpecError[]
}

export interface FileReading {
  entry: SpecFileEntry
  /** False when the file could not be read or a document could not be parsed: some of its objects are unknown. */
  complete: boolean
  contentHash: string | undefined
  candidates: ObjectCandidate[]
  /** Errors not tied to an object (unreadable file, YAML syntax). */
  fileErrors: SpecError[]
  /** Whether this file holds specs at all (plain Markdown files do not). */
  isSpec: boolean
}

const NAME = /^[a-z][a-z0-9-]{0,52}$/

/** Reads, parses and checks every object of one spec file, in isolation from the others. */
export function readSpecObjects(realRoot: string, entry: SpecFileEntry): FileReading {
  const reading: FileReading = { entry, complete: true, contentHash: undefined, candidates: [], fileErrors: [], isSpec: true }
  const fileError = (code: SpecErrorCode, message: string, position: Position = { line: 1, column: 1 }, object?: string) => {
    reading.fileErrors.push({ file: entry.path, line: position.line, column: position.column, code, message, ...(object ? { object } : {}) })
  }

  const read = entry.source ? readSpecFile(dirname(entry.source), basename(entry.source)) : readSpecFile(realRoot, entry.path)
  if (!read.ok) {
    reading.complete = false
    fileError(read.code, `file ${read.message}`)
    return reading
  }
  reading.contentHash = createHash('sha256').update(read.text).digest('hex').slice(0, 16)

  let yamlText = read.text
  let lineOffset = 0
  let body: string | undefined
  if (entry.format === 'markdown') {
    const fm = splitFrontmatter(read.text)
    if (!fm) {
      if (entry.folderKind) fileError('missing-key', `needs YAML frontmatter between --- lines (an ${entry.folderKind} spec in ${entry.folderKind === 'Bottle' ? 'bottles' : 'agents'}/)`)
      else reading.isSpec = false
      return reading
    }
    yamlText = fm.yaml
    lineOffset = fm.lineOffset
    body = fm.body
  }

  const parsed = parseYamlDocuments(yamlText, lineOffset)
  for (const problem of parsed.problems) {
    reading.complete = false
    const object = problem.documentIndex !== undefined && problem.documentIndex > 0 ? `document ${problem.documentIndex + 1}` : undefined
    fileError(problem.code, problem.message, problem.position, object)
  }

  for (const doc of parsed.documents) {
    if (entry.format === 'markdown' && !looksLikeMarkdownSpec(doc.value, entry)) {
      reading.isSpec = false
      continue
    }
    const candidate = readObject(realRoot, entry, doc, parsed.documents.length, body, reading.fileErrors)
    if (candidate) reading.candidates.push(candidate)
    else reading.complete = false
  }
  if (reading.fileErrors.length > 0) reading.isSpec = true
  return reading
}

/** Plain Markdown with frontmatter (a skill, a blog post) is not a spec unless it says so or sits in bottles/ or agents/. */
function looksLikeMarkdownSpec(value: unknown, entry: SpecFileEntry): boolean {
  if (entry.folderKind || entry.inProposals) return true
  if (!isRecord(value)) return false
  return value.apiVersion !== undefined || isSpecKind(value.kind)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Reads one document as an object. Returns undefined (after reporting to
 * `fileErrors`) when the document is not an object of a known kind: such a
 * document has no name to hang its errors on.
 */
function readObject(
  realRoot: string,
  entry: SpecFileEntry,
  doc: ParsedDocument,
  documentCount: number,
  body: string | undefined,
  fileErrors: SpecError[],
): ObjectCandidate | undefined {
  const docLabel = documentCount > 1 ? `document ${doc.index + 1}` : undefined
  const pending: SpecError[] = []
  const early = (code: SpecErrorCode, message: string, path: FieldPath = [], hint?: string) => {
    const p = doc.locate(path)
    pending.push({ file: entry.path, line: p.line, column: p.column, code, message, ...(docLabel ? { object: docLabel } : {}), ...(hint ? { hint } : {}) })
  }
  const orphan = (): undefined => {
    fileErrors.push(...pending)
    return undefined
  }

  if (!isRecord(doc.value)) {
    early('not-an-object', 'is not a mapping; a spec document has apiVersion, kind, metadata and spec')
    return orphan()
  }

  // A Markdown spec may leave out apiVersion, kind (taken from its folder) and metadata.name
  // (taken from the file name), and may write the spec fields flat, as the older layout did.
  let value: Record<string, unknown> = doc.value
  let toDocPath = (path: FieldPath): FieldPath | undefined => path
  if (entry.format === 'markdown') {
    const kind = value.kind ?? entry.folderKind ?? (entry.inProposals ? 'Proposal' : undefined)
    const flat = value.spec === undefined
    const { apiVersion, kind: _k, metadata, spec, ...rest } = value
    const stem = basename(entry.path, '.md')
    value = {
      apiVersion: apiVersion ?? API_VERSION,
      kind,
      metadata: metadata ?? { name: stem },
      spec: flat ? rest : spec,
      ...(flat ? {} : rest),
    }
    if (flat) toDocPath = (path) => (path[0] === 'spec' ? path.slice(1) : path[0] === 'metadata' && metadata === undefined ? undefined : path)
    if (metadata === undefined && !NAME.test(stem)) {
      early('bad-value', `the file name "${stem}" is used as the name; it must be lowercase letters, digits and dashes, starting with a letter`)
    }
  }
  // Fields a flat Markdown spec does not write (metadata.name from the file name) point at the top.
  const locate = (path: FieldPath, options?: { key?: boolean }): Position => {
    const docPath = toDocPath(path)
    return docPath === undefined ? { line: 1, column: 1 } : doc.locate(docPath, options)
  }

  const kind = value.kind
  if (!isSpecKind(kind)) {
    const guess = typeof kind === 'string' ? didYouMean(kind, SPEC_KINDS) : undefined
    if (kind === undefined) early('missing-key', 'missing required key "kind" (Bottle or Agent)')
    else early('bad-value', `kind ${JSON.stringify(kind)} is not one of Bottle, Agent`, ['kind'], guess ? `did you mean "${guess}"?` : undefined)
    return orphan()
  }
  if (kind === 'Proposal' && !entry.inProposals) {
    early('bad-value', 'Proposals are written by the controller into proposals/; they cannot be declared elsewhere', ['kind'])
    return orphan()
  }
  if (kind !== 'Proposal' && entry.inProposals) {
    early('bad-value', `only Proposals live in proposals/; move this ${kind} elsewhere`, ['kind'])
    return orphan()
  }

  const metadata = value.metadata
  const name = isRecord(metadata) && typeof metadata.name === 'string' ? metadata.name : undefined
  const label = name ? `${kind}/${name}` : docLabel
  const errors: SpecError[] = pending.map((e) => ({ ...e, ...(label ? { object: label } : {}) }))
  const report = (code: SpecErrorCode, path: FieldPath, message: string, options?: { key?: boolean; hint?: string }) => {
    const p = locate(path, { key: options?.key ?? false })
    errors.push({
      file: entry.path,
      line: p.line,
      column: p.column,
      code,
      message,
      ...(label ? { object: label } : {}),
      ...(path.length ? { field: formatFieldPath(path) } : {}),
      ...(options?.hint ? { hint: options.hint } : {}),
    })
  }

  if (kind === 'Agent' && body !== undefined && body.trim() !== '') {
    const spec = value.spec
    if (isRecord(spec)) {
      if (spec.prompt !== undefined) report('bad-value', ['spec', 'prompt'], 'is set here and in the Markdown body; keep one')
      else value = { ...value, spec: { ...spec, prompt: body.trim() } }
    }
  }

  for (const problem of schemaProblems(validateAgainstCrd(kind, value))) {
    report(problem.code, problem.path, problem.message, { key: problem.atKey, ...(problem.hint ? { hint: problem.hint } : {}) })
  }
  const ctx = { root: realRoot, file: join(realRoot, entry.path) }
  if (errors.length === 0) {
    if (kind === 'Bottle') checkBottleRules(value as unknown as Bottle, ctx, report)
    if (kind === 'Agent') checkAgentRules(value as unknown as Agent, ctx, report)
  }
  for (const secret of findLiteralSecrets(value)) {
    const prompt = secret.path[0] === 'spec' && secret.path[1] === 'prompt' && body !== undefined
    const what = secret.atKey ? 'this key' : prompt ? 'the prompt' : 'this value'
    report('literal-secret', secret.path, `secrets must be references: ${what} matches ${secret.rule} (${secret.description}); move it to the controller's environment or a file and use tokenRef: {env: NAME} or {file: PATH}`, { key: secret.atKey })
  }

  const object: LoadedObject = {
    kind,
    name: name ?? '',
    file: entry.path,
    documentIndex: doc.index,
    value: value as unknown as SpecObject,
    locate,
  }
  return { kind, name, object, errors }
}
