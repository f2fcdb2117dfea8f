/**
 * The dashboard as data: what it shows (agents, the selected agent's
 * decisions, pending proposals with their diffs), what a key does to that,
 * and the screen as lines for a terminal of a given size. Pure, so every
 * key and every layout is testable without a terminal; rendering
 * (dashboard-view.ts) only paints these lines, and the command
 * (run-dashboard.ts) carries out the effects a key asks for.
 */
import { formatFeedLine, summarizeDecision, type FeedLine } from './decision-feed.js'

export interface AgentRow {
  name: string
  bottle: string
  runtime: string
  phase: string
  ready: string
  age: string
}

export interface PendingProposal {
  name: string
  agent: string
  host: string
  source: 'agent' | 'denial'
  /** The agent's reason, or the refusal counts of a draft. */
  summary: string
  /** What `approve` would change: a unified diff, or why it would refuse. */
  preview: { diff: string } | { error: string }
}

export type Overlay =
  | { kind: 'help' }
  /** Text to read (describe, an approve's diff), scrolled by the arrows. */
  | { kind: 'text'; title: string; lines: string[]; scroll: number }

export type Prompt = { kind: 'filter'; text: string } | { kind: 'reject'; proposal: string; text: string }

export interface Model {
  dir: string
  agents: AgentRow[]
  proposals: PendingProposal[]
  /** Decisions per agent, oldest first (bounded by whoever fills it). */
  feeds: ReadonlyMap<string, readonly FeedLine[]>
  focus: 'agents' | 'proposals'
  /** Selected by name, so a reload that reorders rows keeps the selection. */
  selectedAgent?: string
  selectedProposal?: string
  filter: string
  prompt?: Prompt
  overlay?: Overlay
  message?: { text: string; tone: 'info' | 'error' }
  /** An effect is running (approve, reject, describe): keys that start another wait. */
  busy?: string
}

export type Effect =
  | { kind: 'quit' }
  | { kind: 'approve'; proposal: string }
  | { kind: 'reject'; proposal: string; reason: string }
  | { kind: 'attach'; agent: string }
  | { kind: 'describe'; what: 'agent' | 'proposal'; name: string }

/** A key as ink reports it, reduced to what the dashboard reads. */
export interface Key {
  input: string
  upArrow?: boolean
  downArrow?: boolean
  pageUp?: boolean
  pageDown?: boolean
  return?: boolean
  escape?: boolean
  tab?: boolean
  backspace?: boolean
  delete?: boolean
  ctrl?: boolean
}

export function initialModel(dir: string): Model {
  return { dir, agents: [], proposals: [], feeds: new Map(), focus: 'agents', filter: '' }
}

export function visibleAgents(model: Model): AgentRow[] {
  const f = model.filter.toLowerCase()
  return f === '' ? model.agents : model.agents.filter((a) => a.name.includes(f) || a.bottle.includes(f))
}

export function visibleProposals(model: Model): PendingProposal[] {
  const f = model.filter.toLowerCase()
  return f === '' ? model.proposals : model.proposals.filter((p) => p.agent.includes(f) || p.host.includes(f) || p.name.includes(f))
}

/** The selected agent: by name when it is still visible, else the first. */
export function selectedAgent(model: Model): AgentRow | undefined {
  const rows = visibleAgents(model)
  return rows.find((a) => a.name === model.selectedAgent) ?? rows[0]
}

export function selectedProposal(model: Model): PendingProposal | undefined {
  const rows = visibleProposals(model)
  return rows.find((p) => p.name === model.selectedProposal) ?? rows[0]
}

export const HELP_LINES = [
  'Keys',
  '  up/down, j/k   move the selection',
  '  tab            switch between agents and proposals',
  '  enter          attach to the selected agent\'s CLI (ctrl-p ctrl-q comes back here)',
  '  a              approve the selected proposal (adds its route to the Bottle)',
  '  r              reject the selected proposal (asks a reason the agent reads)',
  '  d              describe the selected agent or proposal',
  '  /              filter agents and proposals by name or host (esc clears)',
  '  ?              this help',
  '  q              quit (esc closes a panel first)',
  '',
  'The feed shows the selected agent\'s egress and git-gate decisions as they',
  'happen. A host the agent is refused repeatedly becomes a draft proposal.',
]

/** What `key` does: a new model, and possibly an effect for the command to carry out. */
export function reduceKey(model: Model, key: Key): { model: Model; effect?: Effect } {
  if (model.prompt) return promptKey(model, model.prompt, key)
  // Keys typed faster than they are read arrive as one input ("/rev"): each is a key of its own, up to the first effect.
  if (key.input.length > 1 && !key.ctrl) {
    let next = model
    for (const [i, char] of [...key.input].entries()) {
      const step = reduceKey(next, { input: char })
      if (step.model.prompt) return reduceKey(step.model, { input: [...key.input].slice(i + 1).join('') })
      next = step.model
      if (step.effect) return { model: next, effect: step.effect }
    }
    return { model: next }
  }
  if (model.overlay) {
    if (key.escape || key.input === 'q' || (model.overlay.kind === 'help' && key.input === '?')) return { model: { ...model, overlay: undefined } }
    if (model.overlay.kind === 'text') {
      const step = key.pageDown ? 10 : key.pageUp ? -10 : key.downArrow || key.input === 'j' ? 1 : key.upArrow || key.input === 'k' ? -1 : 0
      const scroll = Math.max(0, Math.min(model.overlay.scroll + step, model.overlay.lines.length - 1))
      return { model: { ...model, overlay: { ...model.overlay, scroll } } }
    }
    return { model }
  }
  const cleared = model.message ? { ...model, message: undefined } : model
  if (key.ctrl && key.input === 'c') return { model: cleared, effect: { kind: 'quit' } }
  if (key.input === 'q') return { model: cleared, effect: { kind: 'quit' } }
  if (key.escape) return { model: { ...cleared, filter: '' } }
  if (key.input === '?') return { model: { ...cleared, overlay: { kind: 'help' } } }
  if (key.input === '/') return { model: { ...cleared, prompt: { kind: 'filter', text: cleared.filter } } }
  if (key.tab) return { model: { ...cleared, focus: cleared.focus === 'agents' ? 'proposals' : 'agents' } }
  if (key.upArrow || key.downArrow || key.input === 'j' || key.input === 'k') return { model: move(cleared, key.upArrow || key.input === 'k' ? -1 : 1) }
  const proposal = selectedProposal(cleared)
  const agent = selectedAgent(cleared)
  if (key.input === 'a' || key.input === 'r') {
    if (!proposal) return { model: { ...cleared, message: { text: 'no pending proposal to decide', tone: 'error' } } }
    if (model.busy) return { model: { ...cleared, message: { text: `wait: ${model.busy} is running`, tone: 'error' } } }
    if (key.input === 'a') return { model: { ...cleared, focus: 'proposals', selectedProposal: proposal.name, busy: `approve ${proposal.name}` }, effect: { kind: 'approve', proposal: proposal.name } }
    return { model: { ...cleared, focus: 'proposals', selectedProposal: proposal.name, prompt: { kind: 'reject', proposal: proposal.name, text: '' } } }
  }
  if (key.input === 'd') {
    if (cleared.focus === 'proposals' && proposal) return { model: cleared, effect: { kind: 'describe', what: 'proposal', name: proposal.name } }
    if (agent) return { model: cleared, effect: { kind: 'describe', what: 'agent', name: agent.name } }
    return { model: { ...cleared, message: { text: 'nothing selected to describe', tone: 'error' } } }
  }
  if (key.return) {
    if (!agent) return { model: { ...cleared, message: { text: 'no agent to attach to', tone: 'error' } } }
    return { model: cleared, effect: { kind: 'attach', agent: agent.name } }
  }
  return { model: cleared }
}

function promptKey(model: Model, prompt: Prompt, key: Key): { model: Model; effect?: Effect } {
  if (key.escape) return { model: { ...model, prompt: undefined, ...(prompt.kind === 'filter' ? { filter: '' } : { message: { text: 'reject cancelled', tone: 'info' as const } }) } }
  if (key.return) {
    if (prompt.kind === 'filter') return { model: { ...model, prompt: undefined, filter: prompt.text } }
    const reason = prompt.text.trim()
    if (reason === '') return { model: { ...model, message: { text: 'say why: the agent reads the reason (esc cancels)', tone: 'error' } } }
    return { model: { ...model, prompt: undefined, busy: `reject ${prompt.proposal}` }, effect: { kind: 'reject', proposal: prompt.proposal, reason } }
  }
  let text = prompt.text
  if (key.backspace || key.delete) text = text.slice(0, -1)
  // Printable text only: a paste arrives as one input; control sequences are dropped.
  else if (!key.ctrl && key.input !== '' && !/[\u0000-\u001f\u007f]/.test(key.input)) text = (text + key.input).slice(0, 500)
  const next: Prompt = { ...prompt, text }
  // The filter applies while it is typed.
  return { model: { ...model, prompt: next, ...(prompt.kind === 'filter' ? { filter: text } : {}), message: undefined } }
}

function move(model: Model, step: number): Model {
  if (model.focus === 'agents') {
    const rows = visibleAgents(model)
    const at = Math.max(0, rows.findIndex((a) => a.name === selectedAgent(model)?.name))
    const next = rows[Math.max(0, Math.min(rows.length - 1, at + step))]
    return next ? { ...model, selectedAgent: next.name } : model
  }
  const rows = visibleProposals(model)
  const at = Math.max(0, rows.findIndex((p) => p.name === selectedProposal(model)?.name))
  const next = rows[Math.max(0, Math.min(rows.length - 1, at + step))]
  return next ? { ...model, selectedProposal: next.name } : model
}

export type LineStyle = 'title' | 'header' | 'selected' | 'dim' | 'added' | 'removed' | 'refused' | 'allowed' | 'error' | 'section' | 'plain'

export interface ScreenLine {
  text: string
  style: LineStyle
}

export interface Size {
  columns: number
  rows: number
}

/** Exactly `size.rows` lines, none wider than `size.columns`. */
export function screenLines(model: Model, size: Size): ScreenLine[] {
  const width = Math.max(20, size.columns)
  const height = Math.max(8, size.rows)
  const fit = (text: string, style: LineStyle): ScreenLine => ({ text: cut(text, width), style })
  const title = fit(`bottle dashboard  ${model.dir}  ${model.agents.length} agents  ${model.proposals.length} pending${model.filter ? `  filter: ${model.filter}` : ''}`, 'title')
  const footer = footerLine(model, width)
  if (model.overlay) {
    const body = model.overlay.kind === 'help' ? HELP_LINES : model.overlay.lines.slice(model.overlay.scroll)
    const heading = model.overlay.kind === 'help' ? 'help (esc closes)' : `${model.overlay.title} (esc closes, up/down scroll)`
    const lines = [title, fit(sectionRule(heading, width), 'section'), ...body.slice(0, height - 3).map((l) => fit(l, overlayStyle(l)))]
    return pad(lines, height - 1).concat(footer)
  }

  const agents = visibleAgents(model)
  const proposals = visibleProposals(model)
  const agent = selectedAgent(model)
  const proposal = selectedProposal(model)
  const agentRows = Math.min(Math.max(agents.length, 1), 5)
  const proposalRows = Math.min(Math.max(proposals.length, 1), 3)
  // title, table header, two section rules, footer
  let room = height - 5 - agentRows - proposalRows - 1
  const diff = proposal ? previewLines(proposal) : []
  const diffRows = Math.min(diff.length, Math.max(0, Math.floor(room / 2)))
  room -= diffRows
  const feedRows = Math.max(0, room)

  const lines: ScreenLine[] = [title]
  const columns = tableColumns(width, agents)
  lines.push(fit(row(columns, ['NAME', 'BOTTLE', 'RUNTIME', 'PHASE', 'READY', 'AGE', 'LAST EGRESS']), 'header'))
  const feeds = model.feeds
  const first = windowStart(agents.findIndex((a) => a.name === agent?.name), agents.length, agentRows)
  for (const a of agents.slice(first, first + agentRows)) {
    const last = [...(feeds.get(a.name) ?? [])].reverse().find((f) => f.daemon === 'egress')
    const selected = a.name === agent?.name
    lines.push(fit(`${selected ? '>' : ' '}${row(columns, [a.name, a.bottle, a.runtime, a.phase, a.ready, a.age, summarizeDecision(last)]).slice(1)}`, selected && model.focus === 'agents' ? 'selected' : 'plain'))
  }
  if (agents.length === 0) lines.push(fit(model.filter ? '  no agent matches the filter' : '  no agents in this folder yet', 'dim'))

  lines.push(fit(sectionRule(agent ? `decisions: ${agent.name}` : 'decisions', width), 'section'))
  const feed = agent ? (feeds.get(agent.name) ?? []) : []
  const shownFeed = feed.slice(Math.max(0, feed.length - feedRows))
  for (const f of shownFeed) lines.push(fit(formatFeedLine(f, width), f.outcome === 'refused' ? 'refused' : f.outcome === 'allowed' || f.outcome === 'pushed' ? 'allowed' : f.outcome === 'redacted' || f.outcome === 'warned' ? 'dim' : 'error'))
  if (feed.length === 0 && feedRows > 0) lines.push(fit('  no decisions yet', 'dim'))
  for (let i = Math.max(shownFeed.length, feed.length === 0 ? 1 : 0); i < feedRows; i++) lines.push(fit('', 'plain'))

  lines.push(fit(sectionRule(`proposals (${proposals.length} pending)`, width), 'section'))
  const pFirst = windowStart(proposals.findIndex((p) => p.name === proposal?.name), proposals.length, proposalRows)
  for (const p of proposals.slice(pFirst, pFirst + proposalRows)) {
    const selected = p.name === proposal?.name
    lines.push(fit(`${selected ? '>' : ' '}${p.name}  ${p.agent}  ${p.host}  ${p.source === 'denial' ? 'draft: ' : ''}${p.summary}`, selected && model.focus === 'proposals' ? 'selected' : 'plain'))
  }
  if (proposals.length === 0) lines.push(fit('  none pending', 'dim'))
  for (const d of diff.slice(0, diffRows)) lines.push(fit(`  ${d}`, d.startsWith('+') && !d.startsWith('+++') ? 'added' : d.startsWith('-') && !d.startsWith('---') ? 'removed' : d.startsWith('approve would') ? 'error' : 'dim'))
  return pad(lines, height - 1).concat(footer)
}

function previewLines(p: PendingProposal): string[] {
  if ('error' in p.preview) return [`approve would refuse: ${p.preview.error}`]
  return p.preview.diff.replace(/\n$/, '').split('\n')
}

function footerLine(model: Model, width: number): ScreenLine {
  if (model.prompt?.kind === 'filter') return { text: cut(`/${model.prompt.text}_   (enter keeps, esc clears)`, width), style: 'header' }
  if (model.prompt?.kind === 'reject') return { text: cut(`reject ${model.prompt.proposal}, reason: ${model.prompt.text}_   (enter rejects, esc cancels)`, width), style: 'header' }
  if (model.message) return { text: cut(model.message.text, width), style: model.message.tone === 'error' ? 'error' : 'header' }
  if (model.busy) return { text: cut(`${model.busy}...`, width), style: 'header' }
  return { text: cut('a approve  r reject  enter attach  d describe  / filter  ? help  q quit', width), style: 'dim' }
}

function overlayStyle(line: string): LineStyle {
  if (line.startsWith('+') && !line.startsWith('+++')) return 'added'
  if (line.startsWith('-') && !line.startsWith('---')) return 'removed'
  return 'plain'
}

interface Column {
  width: number
}

/** Columns as wide as their widest cell (capped), so LAST EGRESS gets what is left of the width. */
function tableColumns(width: number, agents: readonly AgentRow[]): Column[] {
  const widest = (header: string, cap: number, cells: string[]) => Math.min(cap, Math.max(header.length, ...cells.map((c) => c.length)))
  const fixed = [
    widest('NAME', 20, agents.map((a) => a.name)),
    widest('BOTTLE', 14, agents.map((a) => a.bottle)),
    widest('RUNTIME', 7, agents.map((a) => a.runtime)),
    widest('PHASE', 12, agents.map((a) => a.phase)),
    5,
    widest('AGE', 5, agents.map((a) => a.age)),
  ]
  const used = fixed.reduce((s, w) => s + w + 1, 1)
  return [...fixed.map((w) => ({ width: w })), { width: Math.max(10, width - used) }]
}

function row(columns: Column[], cells: string[]): string {
  return ' ' + cells.map((c, i) => cut(c, columns[i]!.width).padEnd(columns[i]!.width)).join(' ').trimEnd()
}

function sectionRule(label: string, width: number): string {
  const head = `── ${label} `
  return head + '─'.repeat(Math.max(0, width - head.length))
}

function windowStart(selected: number, total: number, visible: number): number {
  if (selected < visible) return 0
  return Math.min(selected - visible + 1, Math.max(0, total - visible))
}

function cut(text: string, width: number): string {
  return text.length > width ? text.slice(0, width) : text
}

function pad(lines: ScreenLine[], height: number): ScreenLine[] {
  const out = lines.slice(0, height)
  while (out.length < height) out.push({ text: '', style: 'plain' })
  return out
}
