/**
 * A human's decision on a Proposal, as pure file edits in the spec folder
 * (the controller picks them up like any other edit):
 *
 *   approve  adds the route to `spec.egress.routes` of the Bottle the
 *            proposal names, in place (add-route-edit.ts), then sets the
 *            Proposal's status to Approved. The route goes live by the
 *            normal hot path: egress config rewrite and SIGHUP, no restart.
 *   reject   sets the status to Rejected with the human's reason.
 *
 * Approve refuses, changing nothing, when the proposal is not Pending, when
 * it asks for what no proposal may (the file may have been edited by hand),
 * when the Bottle already allows the host, when the Bottle gets `egress`
 * only through `extends` (adding a section here would drop the parent's
 * routes), and when the edited Bottle would not load.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { writeFileAtomic } from '../atomic-write.js'
import { didYouMean } from '../spec/did-you-mean.js'
import type { Proposal } from '../spec/generated/spec-types.js'
import { specFileEntry } from '../spec/list-spec-files.js'
import { loadSpecTree, type SpecTree } from '../spec/load-spec-tree.js'
import { coveringRoute, proposalProblems } from '../../sidecars/supervise/proposal-rules.js'
import { findCredentials } from '../../sidecars/dlp/credential-patterns.js'
import { addRouteToSpecText, RouteEditError, type RouteToAdd } from './add-route-edit.js'
import { phaseOf, proposalObjectProblems, proposalPath, withStatus } from './proposal-files.js'
import { unifiedDiff } from './unified-diff.js'

export class ProposalDecisionError extends Error {
  override readonly name = 'ProposalDecisionError'
}

export interface ApproveOptions {
  /** The spec folder. */
  dir: string
  id: string
  /** The approver may point the route at another origin (`https://host[:port]`); an agent never can. */
  upstream?: string
  now?: () => Date
  /** Check everything and compute the diff, but write nothing (the dashboard's preview). */
  dryRun?: boolean
}

export interface ApproveResult {
  bottle: string
  /** The Bottle's file, relative to the spec folder. */
  bottleFile: string
  proposalFile: string
  route: RouteToAdd
  /** Unified diff of the Bottle file: the new route and nothing else. */
  diff: string
}

export interface RejectOptions {
  dir: string
  id: string
  reason: string
  now?: () => Date
}

export async function approveProposal(options: ApproveOptions): Promise<ApproveResult> {
  const root = await specRoot(options.dir)
  const tree = await loadSpecTree(root)
  const { file: proposalFile, proposal } = await pendingProposal(tree, root, options.id)
  const { spec } = proposal
  const problems = proposalProblems(spec.route, spec.reason)
  if (problems.length > 0) throw new ProposalDecisionError(`proposal ${options.id} asks for what no proposal may (${problems[0]}); reject it`)

  const bottle = tree.bottles.get(spec.bottle)
  if (!bottle) {
    const invalid = tree.invalid.get(`Bottle/${spec.bottle}`)?.errors[0]
    if (invalid) throw new ProposalDecisionError(`Bottle ${spec.bottle} is invalid (${invalid.file}:${invalid.line}:${invalid.column}: ${invalid.message}); fix it first`)
    throw new ProposalDecisionError(`Bottle ${spec.bottle} of proposal ${options.id} does not exist in ${options.dir}`)
  }
  if (bottle.source.value.spec.egress === undefined && bottle.spec.egress !== undefined) {
    const parent = [...bottle.chain].reverse().slice(1).map((name) => tree.bottles.get(name)).find((b) => b?.source.value.spec.egress !== undefined)
    const where = parent ? `Bottle ${parent.name} (${parent.file})` : 'its parent'
    throw new ProposalDecisionError(
      `Bottle ${bottle.name} gets egress from ${where} through extends, and egress replaces whole: add the route to ${parent?.file ?? 'the parent'} by hand, or give ${bottle.file} its own egress section`,
    )
  }
  const covering = coveringRoute(spec.route.host, bottle.spec.egress?.routes ?? [])
  if (covering !== undefined) throw new ProposalDecisionError(`Bottle ${bottle.name} already allows ${spec.route.host} (route ${covering} in ${bottle.file}); reject the proposal instead`)

  const route: RouteToAdd = { host: spec.route.host, ...(spec.route.paths ? { paths: spec.route.paths } : {}) }
  if (options.upstream !== undefined) route.upstream = checkUpstream(options.upstream)

  const bottlePath = join(root, bottle.file)
  const before = await readFile(bottlePath, 'utf8')
  let after: string
  try {
    after = addRouteToSpecText(before, { format: bottle.file.endsWith('.md') ? 'markdown' : 'yaml', documentIndex: bottle.source.documentIndex }, route)
  } catch (error) {
    if (error instanceof RouteEditError) throw new ProposalDecisionError(`${bottle.file} ${error.message}`)
    throw error
  }
  await checkEditedTree(root, bottle.file, after, bottle.name, route.host)
  const diff = unifiedDiff(bottle.file, before, after)
  if (options.dryRun) return { bottle: bottle.name, bottleFile: bottle.file, proposalFile, route, diff }

  const mode = (await stat(bottlePath)).mode & 0o777
  await writeFileAtomic(bottlePath, after, mode)
  const now = (options.now?.() ?? new Date()).toISOString()
  await setStatus(root, proposalFile, { phase: 'Approved', message: `approved: the route ${route.host} was added to Bottle ${bottle.name} (${bottle.file})`, decidedAt: now })
  return { bottle: bottle.name, bottleFile: bottle.file, proposalFile, route, diff }
}

export async function rejectProposal(options: RejectOptions): Promise<{ proposalFile: string }> {
  const reason = options.reason.trim()
  if (reason === '') throw new ProposalDecisionError('the reason is empty; say why, the agent reads it')
  if (findCredentials(reason).length > 0) throw new ProposalDecisionError('the reason looks like it holds a credential; proposals are committed, so write it without one')
  const root = await specRoot(options.dir)
  const tree = await loadSpecTree(root)
  const { file } = await pendingProposal(tree, root, options.id)
  await setStatus(root, file, { phase: 'Rejected', message: reason, decidedAt: (options.now?.() ?? new Date()).toISOString() })
  return { proposalFile: file }
}

async function specRoot(dir: string): Promise<string> {
  try {
    return await realpath(dir)
  } catch {
    throw new ProposalDecisionError(`${dir}: no such folder (pass the spec folder with --dir)`)
  }
}

async function pendingProposal(tree: SpecTree, root: string, id: string): Promise<{ file: string; proposal: Proposal }> {
  const loaded = tree.proposals.get(id)
  if (!loaded) {
    const invalid = tree.invalid.get(`Proposal/${id}`)?.errors[0]
    if (invalid) throw new ProposalDecisionError(`${invalid.file}:${invalid.line}:${invalid.column}: proposal ${id} is not valid: ${invalid.message}`)
    const guess = didYouMean(id, tree.proposals.keys())
    const exists = await stat(join(root, proposalPath(id))).then(() => true, () => false)
    throw new ProposalDecisionError(exists ? `${proposalPath(id)} cannot be read as a Proposal` : `proposal ${id} not found in ${join(root, 'proposals')}${guess ? ` (did you mean "${guess}"?)` : ''}`)
  }
  const phase = phaseOf(loaded.value)
  if (phase !== 'Pending') throw new ProposalDecisionError(`proposal ${id} is already ${phase}${loaded.value.status?.message ? ` (${loaded.value.status.message})` : ''}; only a Pending proposal can be decided`)
  return { file: loaded.file, proposal: loaded.value }
}

/** The folder as it would be with the edited Bottle file: the Bottle must still load and carry the route. */
async function checkEditedTree(root: string, file: string, text: string, bottle: string, host: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'bottle-approve-'))
  try {
    const source = join(scratch, `${randomBytes(4).toString('hex')}-${file.split('/').pop()}`)
    await writeFile(source, text, { mode: 0o600 })
    const entry = specFileEntry(file, source)
    if (!entry) throw new ProposalDecisionError(`${file} is not a spec file`)
    const tree = await loadSpecTree(root, { overlay: [entry] })
    const error = tree.errors.find((e) => e.file === file)
    if (error) throw new ProposalDecisionError(`the edited ${file} would not load (${error.line}:${error.column}: ${error.message}); nothing was changed`)
    if (!tree.bottles.get(bottle)?.spec.egress?.routes?.some((r) => r.host === host)) throw new ProposalDecisionError(`the edited ${file} does not give Bottle ${bottle} the route; nothing was changed`)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

async function setStatus(root: string, file: string, status: NonNullable<Proposal['status']>): Promise<void> {
  const path = join(root, file)
  const text = withStatus(await readFile(path, 'utf8'), status)
  const problems = proposalObjectProblems(parse(text) as Proposal)
  if (problems.length > 0) throw new ProposalDecisionError(`${file} would not be a valid Proposal (${problems[0]}); nothing was changed`)
  await writeFileAtomic(path, text, (await stat(path)).mode & 0o777)
}

/** An http(s) origin: scheme, host and optional port, nothing else. */
function checkUpstream(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ProposalDecisionError(`--upstream ${JSON.stringify(text)} is not a URL; use https://host[:port]`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ProposalDecisionError(`--upstream must be an http:// or https:// origin, not ${url.protocol}`)
  if (url.username || url.password) throw new ProposalDecisionError('--upstream must not carry credentials; use a route auth tokenRef')
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) throw new ProposalDecisionError(`--upstream ${JSON.stringify(text)} must be an origin (no path, query or fragment)`)
  return text.replace(/\/$/, '')
}
