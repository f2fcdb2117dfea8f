import { resolve } from 'node:path'
import { loadSpecTree } from '../../spec/load-spec-tree.js'
import { didYouMean } from '../../spec/did-you-mean.js'
import { formatSpecError } from '../../spec/errors.js'
import { listedAgentProvider } from '../agent-provider.js'
import { CliError } from '../cli-error.js'
import { formatAge, renderTable } from '../output.js'
import { listObjects, parseKind } from './get.js'

/** `bottle describe KIND NAME`: everything known about one object, for a human. */
export async function runDescribe(kindWord: string, name: string, options: { dir: string }, out: NodeJS.WritableStream): Promise<number> {
  const kind = parseKind(kindWord)
  const tree = await loadSpecTree(resolve(options.dir))
  const objects = await listObjects(tree)
  const o = objects.find((x) => x.kind === kind && x.name === name)
  if (!o) {
    const guess = didYouMean(name, objects.filter((x) => x.kind === kind).map((x) => x.name))
    throw new CliError(`${kind.toLowerCase()} "${name}" not found${guess ? ` (did you mean "${guess}"?)` : ''}`)
  }
  const lines: string[] = [`Name:    ${o.name}`, `Kind:    ${o.kind}`, `File:    ${o.file}`]
  const status = o.status
  if (kind === 'Agent') {
    const agent = tree.agents.get(name)
    lines.push(`Bottle:  ${String(o.spec.bottle ?? '-')}${agent ? ` (extends chain: ${agent.bottle.chain.join(' -> ')})` : ''}`)
    lines.push(`Provider: ${listedAgentProvider(tree, o)}`)
    if (agent) lines.push(`Spec hash: ${agent.hash}`)
  }
  if (kind === 'Bottle') {
    const bottle = tree.bottles.get(name)
    if (bottle) lines.push(`Chain:   ${bottle.chain.join(' -> ')}`, `Spec hash: ${bottle.hash}`)
  }
  lines.push(`Phase:   ${status?.phase ?? (o.valid ? 'Pending' : 'Invalid')}`)
  if (status?.observedSpecHash) lines.push(`Observed spec hash: ${status.observedSpecHash}`)
  if (status?.observedRevision) lines.push(`Observed revision: ${status.observedRevision}`)

  const errors = tree.invalid.get(`${kind}/${name}`)?.errors ?? []
  if (errors.length) {
    lines.push('', 'Spec errors:')
    for (const e of errors) lines.push(`  ${formatSpecError(e)}`)
  }
  if (status?.conditions?.length) {
    lines.push('', 'Conditions:')
    lines.push(indent(renderTable(['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], status.conditions.map((c) => [c.type, c.status, c.reason, formatAge(c.lastTransitionTime), c.message]))))
  }
  if (status?.runtime) {
    lines.push('', `Runtime (${status.runtime.driver}):`)
    for (const part of ['agent', 'sidecars'] as const) {
      const p = status.runtime[part]
      if (p) lines.push(`  ${part}: ${p.name} ${p.state}${p.id ? ` id=${p.id}` : ''}${p.image ? ` image=${p.image}` : ''}${p.startedAt ? ` started=${p.startedAt}` : ''}`)
    }
    if (status.runtime.workspace) lines.push(`  workspace: ${status.runtime.workspace}`)
    if (status.runtime.infrastructure?.length) lines.push(`  infrastructure: ${status.runtime.infrastructure.join(', ')}`)
  }
  if (status?.routes) {
    lines.push('', `Routes${status.routes.appliedAt ? ` (applied ${status.routes.appliedAt})` : ''}:`)
    for (const r of status.routes.applied) lines.push(`  ${r.host}${r.paths ? ` ${r.paths.join(',')}` : ''} tls=${r.tls}${r.auth ? ` auth=${r.auth.scheme} from ${r.auth.tokenRef}` : ''}`)
    if (status.routes.error) lines.push(`  error: ${status.routes.error}`)
  }
  if (status?.endpoints) {
    lines.push('', 'Endpoints:')
    for (const [k, v] of Object.entries(status.endpoints)) lines.push(`  ${k}: ${v}`)
  }
  if (status?.agents?.length) lines.push('', `Agents:  ${status.agents.join(', ')}`)
  if (status?.events?.length) {
    lines.push('', 'Events:')
    lines.push(indent(renderTable(['AGE', 'TYPE', 'REASON', 'MESSAGE'], status.events.map((e) => [formatAge(e.time), e.type, e.reason, e.message]))))
  }
  out.write(lines.join('\n').replace(/\n+$/, '') + '\n')
  return 0
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n')
}
