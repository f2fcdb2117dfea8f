import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { EGRESS_CA_CERT_PATH, EGRESS_CONFIG_PATH, EGRESS_SECRETS_PATH, GIT_GATE_SECRETS_PATH } from '../../../sidecars/shared/bundle-contract.js'
import { agentLayout } from '../../plan/agent-layout.js'
import type { DesiredAgent } from '../../plan/desired-agent.js'
import { planAgent, planImpact, type PlanAction } from '../../plan/plan-agent.js'
import { homedir } from 'node:os'
import { AgentState } from '../../reconcile/agent-state.js'
import { gatherDesired } from '../../reconcile/gather-desired.js'
import { loadSpecTree, type ResolvedAgent } from '../../spec/load-spec-tree.js'
import { specFileEntry } from '../../spec/list-spec-files.js'
import { sourceFiles, targetInFolder } from './apply.js'
import { EXIT_FAILED, EXIT_OK } from '../cli-error.js'
import { createLogger, instanceDrivers, instanceImages, instanceStateDir, type InstanceOptions } from '../instance-context.js'
import { formatErrorsFromCwd } from './validate.js'
import type { ImageStore } from '../../runtime/images.js'

export interface DiffOptions extends InstanceOptions {
  file: string
  dir: string
}

/**
 * `bottle diff -f`: what applying the file would do to what runs, action by
 * action, each with its class (hot, sidecars, recreate, create, prune). It
 * reads the engine and the state folder; it changes nothing. Exit 0 with no
 * differences, 1 with differences (like `diff` and `kubectl diff`).
 */
export async function runDiff(options: DiffOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const dir = resolve(options.dir)
  const current = await loadSpecTree(dir)
  const overlay = []
  for (const source of await sourceFiles(options.file)) {
    const entry = specFileEntry(await targetInFolder(source, dir, current), source.abs)
    if (entry) overlay.push(entry)
  }
  const tree = await loadSpecTree(dir, { overlay })
  const root = dir
  if (tree.errors.length > 0) {
    for (const line of formatErrorsFromCwd(root, tree.errors)) err.write(`${line}\n`)
    return 2
  }
  const changedFiles = new Set(overlay.map((e) => e.path))
  const agents = [...tree.agents.values()].filter((a) => changedFiles.has(a.file) || changedFiles.has(a.bottle.file))
  const log = createLogger(options.logLevel ?? 'warn')
  const drivers = instanceDrivers(options, log)
  const images = instanceImages(log)
  const stateDir = instanceStateDir(options)
  const placed = await drivers.observe()
  let differences = 0
  for (const agent of agents) {
    const choice = await drivers.choose(agent.bottle.spec.runtime)
    if (!choice.ok) {
      out.write(`Agent/${agent.name} (${agent.file}): refused: ${choice.reason}\n`)
      differences++
      continue
    }
    const layout = agentLayout(stateDir, agent.name)
    const state = new AgentState(layout)
    const desired = await desiredWithoutSideEffects(agent, state, images, tree.root)
    const elsewhere = placed.filter((p) => p.observed.agent === agent.name && p.runtime !== choice.runtime && Object.keys(p.observed.parts).length > 0)
    const observed = placed.find((p) => p.observed.agent === agent.name && p.runtime === choice.runtime)?.observed
    const actions: PlanAction[] = [...elsewhere.map((): PlanAction => ({ kind: 'remove-agent', class: 'prune' })), ...planAgent(desired, observed, await state.observeFiles(desired.files))]
    const header = `Agent/${agent.name} (${agent.file}): ${actions.length === 0 ? 'no changes' : planImpact(actions)}`
    out.write(`${header}\n`)
    if (actions.length > 0) differences++
    for (const action of actions) for (const line of await describeAction(action, desired, state)) out.write(`  ${line}\n`)
  }
  if (agents.length === 0) out.write('no Agents are affected\n')
  return differences > 0 ? EXIT_FAILED : EXIT_OK
}

/** The desired state as the controller would compute it, without minting a CA or writing anything. */
async function desiredWithoutSideEffects(agent: ResolvedAgent, state: AgentState, images: ImageStore, root: string): Promise<DesiredAgent> {
  // The controller's environment is not this shell's: take values the controller already wrote, then this environment.
  const writtenIn = (path: string) => readFile(join(state.layout.root, path), 'utf8').then((t) => JSON.parse(t) as Record<string, string>).catch(() => ({}) as Record<string, string>)
  const written = { ...(await writtenIn(GIT_GATE_SECRETS_PATH)), ...(await writtenIn(EGRESS_SECRETS_PATH)) }
  // The controller's --upstream-ca certificates are not known here: take what it last wrote.
  const applied = await readFile(join(state.layout.root, EGRESS_CONFIG_PATH), 'utf8').then((t) => JSON.parse(t) as { upstreamCaCerts?: string[] }).catch(() => ({}) as { upstreamCaCerts?: string[] })
  const { desired } = await gatherDesired(agent, {
    specRoot: root,
    layout: state.layout,
    images,
    env: process.env,
    homeDir: homedir(),
    bundleUser: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
    ...(applied.upstreamCaCerts?.length ? { upstreamCaCerts: applied.upstreamCaCerts } : {}),
    caCertPem: () => readFile(join(state.layout.root, EGRESS_CA_CERT_PATH), 'utf8').catch(() => '(a new CA is minted on first apply)\n'),
    knownSecrets: new Map(Object.entries(written)),
  })
  return desired
}

async function describeAction(action: PlanAction, desired: DesiredAgent, state: AgentState): Promise<string[]> {
  switch (action.kind) {
    case 'create-part': {
      const lines = [`${action.class}: ${action.part} (${action.reason})`]
      const applied = (await state.readApplied())?.parts[action.part]
      if (applied) {
        if (applied.image !== action.spec.image) lines.push(`    image: ${applied.image} -> ${action.spec.image}`)
        for (const line of envDiff(applied.env, action.spec.env)) lines.push(`    ${line}`)
      }
      return lines
    }
    case 'write-files': {
      const lines: string[] = []
      for (const f of action.files) {
        if (f.path === EGRESS_CONFIG_PATH) {
          const old = await readFile(join(state.layout.root, f.path), 'utf8').then((t) => JSON.parse(t) as { routes?: { host: string }[] }).catch(() => ({ routes: [] }))
          const next = JSON.parse(f.content) as { routes: { host: string }[] }
          const was = new Map((old.routes ?? []).map((r) => [r.host, JSON.stringify(r)]))
          const now = new Map(next.routes.map((r) => [r.host, JSON.stringify(r)]))
          lines.push(`hot: egress routes (reload, no restart)`)
          for (const [host, r] of now) if (!was.has(host)) lines.push(`    + route ${host}`)
            else if (was.get(host) !== r) lines.push(`    ~ route ${host}`)
          for (const host of was.keys()) if (!now.has(host)) lines.push(`    - route ${host}`)
          if (lines.length === 1) lines.push('    ~ dlp, limits or private allowances')
        } else if (f.secret) {
          lines.push(`hot: ${f.path} (secret values; slots: ${desired.secrets.map((s) => s.slot).join(', ') || 'none'})`)
        } else {
          lines.push(`${f.onChange === 'reload-sidecars' ? 'hot' : 'file'}: ${f.path}`)
        }
      }
      return lines
    }
    case 'ensure-infrastructure':
      return ['create: networks and workspace volume']
    case 'reload-sidecars':
      return ['hot: signal the bundle to reload']
    case 'start-part':
    case 'stop-part':
      return [`${action.class}: ${action.kind === 'start-part' ? 'start' : 'stop'} ${action.part}`]
    case 'remove-agent':
      return ['prune: remove the agent (workspace kept)']
  }
}

function envDiff(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(after)) {
    if (!(k in before)) out.push(`+ env.${k}=${JSON.stringify(v)}`)
    else if (before[k] !== v) out.push(`~ env.${k}: ${JSON.stringify(before[k])} -> ${JSON.stringify(v)}`)
  }
  for (const k of Object.keys(before)) if (!(k in after)) out.push(`- env.${k}`)
  return out
}
