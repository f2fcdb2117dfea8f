import { join, resolve } from 'node:path'
import { loadSpecTree, type SpecTree } from '../../spec/load-spec-tree.js'
import { didYouMean } from '../../spec/did-you-mean.js'
import { readStatusFile } from '../../status/read-status-file.js'
import type { StatusDocument } from '../../status/status-types.js'
import { listedAgentProvider } from '../agent-provider.js'
import { CliError, UsageError } from '../cli-error.js'
import { formatAge, renderStructured, renderTable, type OutputFormat } from '../output.js'

export type ListedKind = 'Bottle' | 'Agent' | 'Proposal'

const KIND_WORDS: Record<string, ListedKind> = {
  bottle: 'Bottle', bottles: 'Bottle', b: 'Bottle',
  agent: 'Agent', agents: 'Agent', a: 'Agent',
  proposal: 'Proposal', proposals: 'Proposal', p: 'Proposal',
}

export function parseKind(word: string): ListedKind {
  const kind = KIND_WORDS[word.toLowerCase()]
  if (!kind) {
    const guess = didYouMean(word, Object.keys(KIND_WORDS))
    throw new UsageError(`unknown kind "${word}"; use bottles, agents or proposals${guess ? ` (did you mean "${guess}"?)` : ''}`)
  }
  return kind
}

/** One object as `get` shows it: the spec as written, plus its status when a status file has one. */
export interface ListedObject {
  kind: ListedKind
  name: string
  file: string
  valid: boolean
  spec: Record<string, unknown>
  status?: StatusDocument['status']
}

export async function listObjects(tree: SpecTree): Promise<ListedObject[]> {
  const statusByFile = new Map<string, Map<string, StatusDocument>>()
  const statusOf = async (file: string, key: string) => {
    let statuses = statusByFile.get(file)
    if (!statuses) {
      statuses = await readStatusFile(join(tree.root, file))
      statusByFile.set(file, statuses)
    }
    return statuses.get(key)?.status
  }
  const out: ListedObject[] = []
  for (const file of tree.files) {
    for (const ref of file.objects) {
      const key = `${ref.kind}/${ref.name}`
      const valid = !tree.invalid.has(key) && (ref.kind !== 'Agent' || tree.agents.get(ref.name)?.file === file.path) &&
        (ref.kind !== 'Bottle' || tree.bottles.get(ref.name)?.file === file.path) &&
        (ref.kind !== 'Proposal' || tree.proposals.get(ref.name)?.file === file.path)
      const source = ref.kind === 'Agent' ? tree.agents.get(ref.name)?.source : ref.kind === 'Bottle' ? tree.bottles.get(ref.name)?.source : tree.proposals.get(ref.name)
      const spec = ((source?.file === file.path ? source.value : undefined) as { spec?: Record<string, unknown> } | undefined)?.spec ?? {}
      const status = await statusOf(file.path, key)
      out.push({ kind: ref.kind, name: ref.name, file: file.path, valid, spec, ...(status ? { status } : {}) })
    }
  }
  return out
}

function condition(o: ListedObject, type: string) {
  return o.status?.conditions?.find((c) => c.type === type)
}

function rowsFor(kind: ListedKind, objects: ListedObject[], tree: SpecTree, wide: boolean): { headers: string[]; rows: string[][] } {
  if (kind === 'Agent') {
    const headers = ['NAME', 'BOTTLE', 'PHASE', 'READY', 'AGE', ...(wide ? ['PROVIDER', 'FILE', 'MESSAGE'] : [])]
    const rows = objects.map((o) => {
      const ready = condition(o, 'Ready')
      const phase = o.status?.phase ?? (o.valid ? 'Pending' : 'Invalid')
      const valid = condition(o, 'Valid')
      const message = o.valid ? (ready?.message ?? '') : (valid?.message ?? tree.invalid.get(`Agent/${o.name}`)?.errors[0]?.message ?? '')
      return [o.name, String(o.spec.bottle ?? '-'), phase, ready?.status ?? '-', formatAge(ready?.lastTransitionTime), ...(wide ? [listedAgentProvider(tree, o), o.file, message] : [])]
    })
    return { headers, rows }
  }
  if (kind === 'Bottle') {
    const headers = ['NAME', 'EXTENDS', 'ROUTES', 'REMOTES', 'AGENTS', 'VALID', ...(wide ? ['FILE', 'MESSAGE'] : [])]
    const rows = objects.map((o) => {
      const resolved = tree.bottles.get(o.name)
      const agents = [...tree.agents.values()].filter((a) => a.bottle.name === o.name).length
      const routes = resolved?.spec.egress?.routes?.length ?? 0
      const remotes = resolved?.spec.git?.remotes?.length ?? 0
      const message = o.valid ? '' : (tree.invalid.get(`Bottle/${o.name}`)?.errors[0]?.message ?? '')
      return [o.name, String(o.spec.extends ?? '-'), String(routes), String(remotes), String(agents), o.valid ? 'True' : 'False', ...(wide ? [o.file, message] : [])]
    })
    return { headers, rows }
  }
  const headers = ['NAME', 'AGENT', 'HOST', 'PHASE', ...(wide ? ['FILE', 'REASON'] : [])]
  const rows = objects.map((o) => {
    const proposal = tree.proposals.get(o.name)?.value
    const route = (o.spec.route ?? {}) as { host?: string }
    return [o.name, String(o.spec.agent ?? '-'), route.host ?? '-', proposal?.status?.phase ?? 'Pending', ...(wide ? [o.file, String(o.spec.reason ?? '')] : [])]
  })
  return { headers, rows }
}

export function toManifest(o: ListedObject): Record<string, unknown> {
  return { apiVersion: 'bottle.dev/v1alpha1', kind: o.kind, metadata: { name: o.name }, spec: o.spec, ...(o.status ? { status: o.status } : {}) }
}

export async function renderGet(tree: SpecTree, kinds: ListedKind[], name: string | undefined, format: OutputFormat): Promise<string> {
  const objects = (await listObjects(tree)).filter((o) => kinds.includes(o.kind) && (name === undefined || o.name === name))
  if (name !== undefined && objects.length === 0) {
    const names = (await listObjects(tree)).filter((o) => kinds.includes(o.kind)).map((o) => o.name)
    const guess = didYouMean(name, names)
    throw new CliError(`${kinds.map((k) => k.toLowerCase()).join('/')} "${name}" not found${guess ? ` (did you mean "${guess}"?)` : ''}`)
  }
  if (format === 'yaml' || format === 'json') {
    const manifests = objects.map(toManifest)
    return renderStructured(format, name !== undefined && manifests.length === 1 ? manifests[0] : { apiVersion: 'v1', kind: 'List', items: manifests })
  }
  const parts: string[] = []
  for (const kind of kinds) {
    const ofKind = objects.filter((o) => o.kind === kind)
    if (ofKind.length === 0 && kinds.length > 1) continue
    if (ofKind.length === 0) return `No ${kind.toLowerCase()}s found in ${tree.root}\n`
    const { headers, rows } = rowsFor(kind, ofKind, tree, format === 'wide')
    parts.push(renderTable(headers, rows))
  }
  return parts.join('\n') || `No objects found in ${tree.root}\n`
}

export async function runGet(kindWord: string | undefined, name: string | undefined, options: { dir: string; format: OutputFormat }, out: NodeJS.WritableStream): Promise<number> {
  const kinds: ListedKind[] = kindWord === undefined ? ['Bottle', 'Agent'] : [parseKind(kindWord)]
  const tree = await loadSpecTree(resolve(options.dir))
  out.write(await renderGet(tree, kinds, name, options.format))
  return 0
}

/**
 * `bottle get -w`: prints the table, then one row each time an object's row
 * changes (as kubectl does), until interrupted. Status files are what it
 * watches; the controller rewrites them only when something changed.
 */
export async function runGetWatch(kindWord: string | undefined, name: string | undefined, options: { dir: string; format: OutputFormat; signal?: AbortSignal }, out: NodeJS.WritableStream): Promise<number> {
  const { watch } = await import('chokidar')
  const kinds: ListedKind[] = kindWord === undefined ? ['Agent'] : [parseKind(kindWord)]
  const root = resolve(options.dir)
  const wide = options.format === 'wide'
  const rowsNow = async (): Promise<{ headers: string[]; rows: Map<string, string[]> }> => {
    const tree = await loadSpecTree(root)
    const objects = (await listObjects(tree)).filter((o) => kinds.includes(o.kind) && (name === undefined || o.name === name))
    const { headers, rows } = rowsFor(kinds[0]!, objects, tree, wide)
    return { headers, rows: new Map(objects.map((o, i) => [`${o.kind}/${o.name}`, rows[i]!])) }
  }
  let last = await rowsNow()
  const widths = last.headers.map((h, i) => Math.max(h.length, 12, ...[...last.rows.values()].map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd() + '\n'
  out.write(line(last.headers))
  for (const row of last.rows.values()) out.write(line(row))
  const watcher = watch(root, { ignoreInitial: true, ignored: (p: string) => /(^|\/)(\.|node_modules)/.test(p.slice(root.length)) })
  let timer: NodeJS.Timeout | undefined
  watcher.on('all', () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      void rowsNow().then((next) => {
        for (const [key, row] of next.rows) if (last.rows.get(key)?.join('\u0000') !== row.join('\u0000')) out.write(line(row))
        last = next
      })
    }, 100)
  })
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop()
    if (options.signal) options.signal.addEventListener('abort', stop, { once: true })
    else process.once('SIGINT', stop)
  })
  if (timer) clearTimeout(timer)
  await watcher.close()
  return 0
}
