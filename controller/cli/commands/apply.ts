import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { listSpecFiles, specFileEntry, type SpecFileEntry } from '../../spec/list-spec-files.js'
import { loadSpecTree, type SpecTree } from '../../spec/load-spec-tree.js'
import { writeFileAtomic } from '../../atomic-write.js'
import { readStatusFile } from '../../status/read-status-file.js'
import type { ObjectStatus } from '../../status/status-types.js'
import { CliError, EXIT_FAILED, EXIT_OK, UsageError } from '../cli-error.js'
import { parseDuration } from '../../spec/duration.js'
import { formatErrorsFromCwd } from './validate.js'
import { formatSpecError } from '../../spec/errors.js'

export interface ApplyOptions {
  file: string
  dir: string
  wait?: boolean
  timeout: string
}

interface PlannedWrite {
  source: { abs: string; rel: string }
  /** Path in the watched folder, relative to it. */
  target: string
  content: string
  previous: string | undefined
}

/**
 * `bottle apply -f`: validate against the watched folder, then write into it.
 * The controller does the rest; with --wait, follow the status files until
 * every applied Agent is Ready (exit 0) or failed (exit 1).
 */
export async function runApply(options: ApplyOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const dir = resolve(options.dir)
  if (!(await stat(dir).then((s) => s.isDirectory()).catch(() => false))) throw new UsageError(`--dir ${options.dir}: not a folder (the folder the controller watches)`)
  const timeoutMs = parseDuration(options.timeout)
  const sources = await sourceFiles(options.file)
  const current = await loadSpecTree(dir)
  const writes: PlannedWrite[] = []
  for (const source of sources) writes.push(await planWrite(source, dir, current))

  const overlay = writes.map((w) => specFileEntry(w.target, w.source.abs)).filter((e): e is SpecFileEntry => e !== undefined)
  const next = await loadSpecTree(dir, { overlay })
  const targets = new Set(writes.map((w) => w.target))
  const touched = new Set(next.files.filter((f) => targets.has(f.path)).flatMap((f) => f.objects.map((o) => `${o.kind}/${o.name}`)))
  // Errors in the applied files, and errors that applying them causes elsewhere (an Agent whose Bottle broke).
  const errors = next.errors.filter((e) => targets.has(e.file) || (e.object !== undefined && !current.invalid.has(e.object) && next.invalid.has(e.object)))
  if (errors.length > 0) {
    for (const line of formatErrorsFromCwd(dir, errors)) err.write(`${line}\n`)
    err.write(`apply refused: ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was written\n`)
    return EXIT_FAILED
  }

  for (const w of writes) {
    if (w.previous !== w.content) await writeFileAtomic(join(dir, w.target), w.content, 0o644)
  }
  for (const w of writes) {
    const file = next.files.find((f) => f.path === w.target)
    for (const o of file?.objects ?? []) {
      const verb = w.previous === undefined ? 'created' : w.previous === w.content ? 'unchanged' : 'configured'
      out.write(`${o.kind.toLowerCase()}/${o.name} ${verb} (${w.target})\n`)
    }
  }
  if (!options.wait) return EXIT_OK

  const agents = [...next.agents.values()].filter((a) => touched.has(`Agent/${a.name}`))
  if (agents.length === 0) return EXIT_OK
  return waitForAgents(dir, agents.map((a) => ({ name: a.name, file: a.file, hash: a.hash })), timeoutMs, out, err)
}

/** The spec files `-f PATH` names: the file, or every spec file under the folder. */
export async function sourceFiles(path: string): Promise<{ abs: string; rel: string }[]> {
  const abs = resolve(path)
  const info = await stat(abs).catch(() => undefined)
  if (!info) throw new UsageError(`${path}: no such file or directory`)
  if (info.isDirectory()) {
    const entries = await listSpecFiles(abs)
    if (entries.length === 0) throw new UsageError(`${path}: no spec files in this folder`)
    return entries.filter((e) => !e.inProposals).map((e) => ({ abs: join(abs, e.path), rel: e.path }))
  }
  if (!specFileEntry(basename(abs))) throw new UsageError(`${path}: not a spec file (expected .yaml, .yml or .md)`)
  // A Markdown spec may take its kind from its folder: keep that folder in the relative path.
  const parent = basename(dirname(abs))
  return [{ abs, rel: parent === 'agents' || parent === 'bottles' ? `${parent}/${basename(abs)}` : basename(abs) }]
}

/**
 * Where an applied file goes: over the file that already defines its
 * objects, so re-applying an edited copy updates rather than duplicates;
 * otherwise under its own relative path.
 */
export async function targetInFolder(source: { abs: string; rel: string }, dir: string, current: SpecTree): Promise<string> {
  const alone = await loadSpecTree(dirname(source.abs), { overlay: [specFileEntry(source.rel, source.abs)!], overlayOnly: true })
  const names = alone.files.flatMap((f) => f.objects.map((o) => `${o.kind}/${o.name}`))
  if (names.length === 0) {
    const why = alone.errors[0] ? `: ${formatSpecError(alone.errors[0])}` : ' (a Markdown spec needs kind: in its frontmatter, or to sit in an agents/ or bottles/ folder)'
    throw new CliError(`${source.rel}: defines no Bottle or Agent${why}`)
  }
  const homes = new Set<string>()
  for (const f of current.files) if (f.objects.some((o) => names.includes(`${o.kind}/${o.name}`))) homes.add(f.path)
  if (homes.size > 1) throw new CliError(`${source.rel}: its objects are defined in several files of the folder (${[...homes].join(', ')}); apply them one file at a time`)
  const inside = relative(dir, source.abs)
  const sameFolder = !inside.startsWith('..') && !inside.startsWith(sep)
  const target = [...homes][0] ?? (sameFolder ? inside.split(sep).join('/') : source.rel)
  const existing = current.files.find((f) => f.path === target)
  if (existing && homes.size === 0 && existing.objects.length > 0) {
    throw new CliError(`${source.rel}: ${target} in the folder defines other objects (${existing.objects.map((o) => `${o.kind}/${o.name}`).join(', ')}); rename the file or edit it in place`)
  }
  return target
}

async function planWrite(source: { abs: string; rel: string }, dir: string, current: SpecTree): Promise<PlannedWrite> {
  const content = await readFile(source.abs, 'utf8')
  const target = await targetInFolder(source, dir, current)
  const previous = await readFile(join(dir, target), 'utf8').catch(() => undefined)
  return { source, target, content, previous }
}

interface AwaitedAgent {
  name: string
  file: string
  hash: string
}

/** Follows the status files until every Agent reports Ready for the applied spec, or one fails. */
async function waitForAgents(dir: string, agents: AwaitedAgent[], timeoutMs: number, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const deadline = Date.now() + timeoutMs
  const lastLine = new Map<string, string>()
  const pending = new Set(agents.map((a) => a.name))
  while (pending.size > 0) {
    for (const agent of agents) {
      if (!pending.has(agent.name)) continue
      const status = (await readStatusFile(join(dir, agent.file))).get(`Agent/${agent.name}`)?.status
      const verdict = judge(status, agent.hash)
      const line = `agent/${agent.name}: ${verdict.line}`
      if (lastLine.get(agent.name) !== line) {
        lastLine.set(agent.name, line)
        out.write(`${line}\n`)
      }
      if (verdict.done === 'ready') pending.delete(agent.name)
      if (verdict.done === 'failed') {
        err.write(`agent/${agent.name} failed: ${verdict.reason}\n`)
        return EXIT_FAILED
      }
    }
    if (pending.size === 0) break
    if (Date.now() > deadline) {
      err.write(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${[...pending].map((n) => `agent/${n}`).join(', ')} (is "bottle controller" running on ${dir}?)\n`)
      return EXIT_FAILED
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return EXIT_OK
}

function judge(status: ObjectStatus | undefined, hash: string): { line: string; done?: 'ready' | 'failed'; reason?: string } {
  if (!status) return { line: 'waiting for the controller' }
  const valid = status.conditions.find((c) => c.type === 'Valid')
  const ready = status.conditions.find((c) => c.type === 'Ready')
  if (valid?.status === 'False') return { line: `invalid: ${valid.message}`, done: 'failed', reason: valid.message }
  if (status.observedSpecHash !== hash) return { line: 'waiting for the controller to pick up the change' }
  const phase = status.phase ?? 'Pending'
  if (ready?.status === 'True') return { line: `${phase}: ready`, done: 'ready' }
  const message = ready ? `${ready.reason}: ${ready.message}` : 'progressing'
  if (phase === 'Failed') return { line: `${phase}: ${message}`, done: 'failed', reason: message }
  return { line: `${phase}: ${message}` }
}
