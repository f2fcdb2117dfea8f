import { realpath } from 'node:fs/promises'
import { checkAgentInBottle } from './check-rules.js'
import { didYouMean } from './did-you-mean.js'
import { formatFieldPath, type SpecError, type SpecErrorCode } from './errors.js'
import type { AgentSpec, BottleSpec, GitUser, Proposal } from './generated/spec-types.js'
import { listSpecFiles, type SpecFileEntry } from './list-spec-files.js'
import type { FieldPath } from './parse-documents.js'
import { readSpecObjects, type FileReading, type ObjectCandidate } from './read-spec-objects.js'
import { resolveExtends } from './resolve-extends.js'
import type { SpecKind } from './schemas.js'
import { digest } from './spec-hash.js'
import type { Agent, Bottle, LoadedObject } from './types.js'

export interface ObjectRef {
  kind: SpecKind
  name: string
  file: string
  documentIndex: number
}

export interface SpecFileReport {
  path: string
  /** Every named object of the file, valid or not, in document order. */
  objects: ObjectRef[]
  /** Every error found in the file, including those of its objects. */
  errors: SpecError[]
  /** False when the file could not be read or parsed whole: it may define objects that are not listed. */
  complete: boolean
  contentHash: string | undefined
}

export interface ResolvedBottle {
  name: string
  file: string
  source: LoadedObject<Bottle>
  /** After `extends`: what agents of this bottle get. */
  spec: Omit<BottleSpec, 'extends'>
  /** Root first, this bottle last. */
  chain: string[]
  hash: string
}

export interface ResolvedAgent {
  name: string
  file: string
  source: LoadedObject<Agent>
  /** The agent's own spec, with the Markdown body as its prompt. */
  spec: AgentSpec
  bottle: ResolvedBottle
  /** Bottle env overlaid with the agent's. */
  env: Record<string, string>
  /** Bottle git.user overlaid with the agent's, field by field. */
  gitUser: GitUser
  /** Digest of everything above that shapes the running agent. */
  hash: string
}

export interface InvalidObject {
  ref: ObjectRef
  errors: SpecError[]
}

export interface SpecTree {
  root: string
  /** Commit of the watched repository, when the source is one. */
  revision?: string
  files: SpecFileReport[]
  bottles: Map<string, ResolvedBottle>
  agents: Map<string, ResolvedAgent>
  proposals: Map<string, LoadedObject<Proposal>>
  /** Objects that are named but not usable, by `Kind/name`. */
  invalid: Map<string, InvalidObject>
  errors: SpecError[]
}

/**
 * Loads every spec under `root`. A bad file never stops the others: each is
 * read and checked on its own, then names are checked across files (unique
 * names, Agent -> Bottle, extends chains, workspace remotes).
 */
export interface LoadOptions {
  revision?: string
  /**
   * Files to read in place of (or in addition to) those in the folder: a
   * file being applied is checked against the specs already there.
   */
  overlay?: SpecFileEntry[]
  /** Read only the overlay, not the folder (validating a lone file). */
  overlayOnly?: boolean
}

export async function loadSpecTree(root: string, options: LoadOptions = {}): Promise<SpecTree> {
  const realRoot = await realpath(root)
  const overlay = options.overlay ?? []
  const replaced = new Set(overlay.map((e) => e.path))
  const listed = options.overlayOnly ? [] : (await listSpecFiles(realRoot)).filter((e) => !replaced.has(e.path))
  const entries = [...listed, ...overlay].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const readings = entries.map((entry) => readSpecObjects(realRoot, entry))
  return assembleTree(realRoot, readings.filter((r) => r.isSpec), options.revision)
}

function assembleTree(root: string, readings: FileReading[], revision: string | undefined): SpecTree {
  const errorsOf = new Map<ObjectCandidate, SpecError[]>()
  const firstByKey = new Map<string, ObjectCandidate>()
  const all: ObjectCandidate[] = readings.flatMap((r) => r.candidates)
  for (const c of all) errorsOf.set(c, [...c.errors])

  const report = (c: ObjectCandidate, code: SpecErrorCode, path: FieldPath, message: string, hint?: string) => {
    const p = c.object.locate(path)
    errorsOf.get(c)!.push({
      file: c.object.file,
      line: p.line,
      column: p.column,
      code,
      message,
      object: `${c.kind}/${c.name ?? ''}`,
      ...(path.length ? { field: formatFieldPath(path) } : {}),
      ...(hint ? { hint } : {}),
    })
  }
  const isValid = (c: ObjectCandidate) => errorsOf.get(c)!.length === 0

  // Names are unique per kind; the first definition (in path order) keeps the name.
  for (const c of all) {
    if (c.name === undefined) continue
    const key = `${c.kind}/${c.name}`
    const first = firstByKey.get(key)
    if (!first) {
      firstByKey.set(key, c)
      continue
    }
    const at = first.object.locate(['metadata', 'name'])
    report(c, 'duplicate-name', ['metadata', 'name'], `${c.kind} "${c.name}" is already defined at ${first.object.file}:${at.line}:${at.column}`)
  }
  const named = (kind: SpecKind) => all.filter((c) => c.kind === kind && c.name !== undefined && firstByKey.get(`${kind}/${c.name}`) === c)

  // Bottles: only those valid on their own take part in extends resolution.
  const bottleCandidates = named('Bottle')
  const validBottleSpecs = new Map<string, BottleSpec>()
  for (const c of bottleCandidates) if (isValid(c)) validBottleSpecs.set(c.name!, (c.object.value as Bottle).spec)
  const { resolved, problems } = resolveExtends(validBottleSpecs)
  const bottleByName = new Map(bottleCandidates.map((c) => [c.name!, c]))
  for (const problem of problems) {
    const c = bottleByName.get(problem.bottle)!
    report(c, problem.code, ['spec', 'extends'], problem.message, problem.hint)
  }
  // A parent that exists but is invalid on its own leaves its children unresolved too.
  for (const c of bottleCandidates) {
    const parent = (c.object.value as Bottle).spec?.extends
    if (!isValid(c) || resolved.has(c.name!) || parent === undefined) continue
    const parentCandidate = bottleByName.get(parent)
    if (parentCandidate && !isValid(parentCandidate)) {
      const first = errorsOf.get(parentCandidate)![0]!
      report(c, 'missing-reference', ['spec', 'extends'], `extends "${parent}", which is invalid (${first.file}:${first.line}:${first.column})`)
    }
  }
  const bottles = new Map<string, ResolvedBottle>()
  for (const c of bottleCandidates) {
    const r = resolved.get(c.name!)
    if (!r || !isValid(c)) continue
    bottles.set(c.name!, {
      name: c.name!,
      file: c.object.file,
      source: c.object as LoadedObject<Bottle>,
      spec: r.spec,
      chain: r.chain,
      hash: digest(r.spec),
    })
  }

  const agents = new Map<string, ResolvedAgent>()
  for (const c of named('Agent')) {
    if (!isValid(c)) continue
    const agent = c.object.value as Agent
    const bottle = bottles.get(agent.spec.bottle)
    if (!bottle) {
      const other = bottleByName.get(agent.spec.bottle)
      if (other) {
        const first = errorsOf.get(other)![0]
        const where = first ? ` (${first.file}:${first.line}:${first.column})` : ''
        report(c, 'missing-reference', ['spec', 'bottle'], `Bottle "${agent.spec.bottle}" is invalid${where}`)
      } else {
        const guess = didYouMean(agent.spec.bottle, bottleByName.keys())
        report(c, 'missing-reference', ['spec', 'bottle'], `Bottle "${agent.spec.bottle}" does not exist`, guess ? `did you mean "${guess}"?` : undefined)
      }
      continue
    }
    const remote = agent.spec.workspace?.remote
    if (remote !== undefined && !(bottle.spec.git?.remotes ?? []).some((r) => r.name === remote)) {
      const guess = didYouMean(remote, (bottle.spec.git?.remotes ?? []).map((r) => r.name))
      report(c, 'missing-reference', ['spec', 'workspace', 'remote'], `Bottle "${bottle.name}" has no git remote named "${remote}"`, guess ? `did you mean "${guess}"?` : undefined)
      continue
    }
    let fitsBottle = true
    checkAgentInBottle(agent.spec, bottle.spec, (code, path, message, options) => {
      fitsBottle = false
      report(c, code, path, message, options?.hint)
    })
    if (!fitsBottle) continue
    const env = { ...bottle.spec.env, ...agent.spec.env }
    const gitUser = { ...bottle.spec.git?.user, ...agent.spec.git?.user }
    agents.set(c.name!, {
      name: c.name!,
      file: c.object.file,
      source: c.object as LoadedObject<Agent>,
      spec: agent.spec,
      bottle,
      env,
      gitUser,
      hash: digest({ agent: agent.spec, bottle: bottle.hash }),
    })
  }

  const proposals = new Map<string, LoadedObject<Proposal>>()
  for (const c of named('Proposal')) if (isValid(c)) proposals.set(c.name!, c.object as LoadedObject<Proposal>)

  const invalid = new Map<string, InvalidObject>()
  for (const c of all) {
    const errors = errorsOf.get(c)!
    if (c.name === undefined || errors.length === 0) continue
    const key = `${c.kind}/${c.name}`
    if (firstByKey.get(key) !== c) continue // a duplicate: the first definition stands
    invalid.set(key, { ref: refOf(c), errors })
  }

  const files: SpecFileReport[] = readings.map((r) => ({
    path: r.entry.path,
    objects: r.candidates.filter((c) => c.name !== undefined).map(refOf),
    errors: [...r.fileErrors, ...r.candidates.flatMap((c) => errorsOf.get(c)!)].sort(byPosition),
    complete: r.complete,
    contentHash: r.contentHash,
  }))
  const errors = files.flatMap((f) => f.errors)
  return { root, ...(revision ? { revision } : {}), files, bottles, agents, proposals, invalid, errors }
}

function refOf(c: ObjectCandidate): ObjectRef {
  return { kind: c.kind, name: c.name!, file: c.object.file, documentIndex: c.object.documentIndex }
}

function byPosition(a: SpecError, b: SpecError): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column
}
