/**
 * Proposal files in `proposals/` of the watched folder: one YAML document
 * per file, `proposals/<agent>-<n>.yaml`, kind Proposal (crds/proposal.yaml).
 * The controller writes them with status Pending; `bottle approve` and
 * `bottle reject` set the status. The loader reads them too (`bottle get
 * proposals`); this module reads only this folder, for the intake's
 * once-a-second pass.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseDocument, stringify } from 'yaml'
import { writeFileAtomic } from '../atomic-write.js'
import type { Proposal, ProposalStatus } from '../spec/generated/spec-types.js'
import { findLiteralSecrets } from '../spec/literal-secrets.js'
import { validateAgainstCrd } from '../spec/schemas.js'

export const PROPOSALS_DIR = 'proposals'
/** Larger files are not proposals the controller wrote. */
const MAX_PROPOSAL_BYTES = 64 * 1024

export interface ProposalFile {
  /** Relative to the spec root, forward slashes. */
  path: string
  proposal: Proposal
}

export function proposalPath(name: string): string {
  return `${PROPOSALS_DIR}/${name}.yaml`
}

/** Every readable, schema-valid Proposal under `<specRoot>/proposals/`, by name. Others are skipped (the loader reports them). */
export async function readProposals(specRoot: string): Promise<Map<string, ProposalFile>> {
  const out = new Map<string, ProposalFile>()
  const names = await readdir(join(specRoot, PROPOSALS_DIR)).catch(() => [] as string[])
  for (const name of names.sort()) {
    if (name.startsWith('.') || !/\.ya?ml$/.test(name) || /\.status\.ya?ml$/.test(name)) continue
    const path = `${PROPOSALS_DIR}/${name}`
    const proposal = await readProposalFile(join(specRoot, path))
    if (proposal && !out.has(proposal.metadata.name)) out.set(proposal.metadata.name, { path, proposal })
  }
  return out
}

export async function readProposalFile(absolutePath: string): Promise<Proposal | undefined> {
  try {
    if ((await stat(absolutePath)).size > MAX_PROPOSAL_BYTES) return undefined
    const doc = parseDocument(await readFile(absolutePath, 'utf8'), { uniqueKeys: true, strict: true })
    if (doc.errors.length > 0) return undefined
    const value = doc.toJS() as unknown
    return validateAgainstCrd('Proposal', value).length === 0 ? (value as Proposal) : undefined
  } catch {
    return undefined
  }
}

/** The phase a proposal is in; a file without a status is Pending. */
export function phaseOf(proposal: Proposal): 'Pending' | 'Approved' | 'Rejected' {
  return proposal.status?.phase ?? 'Pending'
}

/** Problems that would make the loader refuse the file: the CRD schema and literal credentials. */
export function proposalObjectProblems(proposal: Proposal): string[] {
  const problems = validateAgainstCrd('Proposal', proposal).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`)
  for (const secret of findLiteralSecrets(proposal)) problems.push(`${secret.path.join('.')} looks like a credential (${secret.rule})`)
  return problems
}

/** The file the controller writes: a comment saying how to decide, then the object. */
export function renderProposalFile(proposal: Proposal): string {
  const { name } = proposal.metadata
  const header = [
    proposal.spec.source === 'denial'
      ? `# Draft: agent ${proposal.spec.agent} was refused this host repeatedly (Bottle ${proposal.spec.bottle}); it did not ask.`
      : `# Agent ${proposal.spec.agent} asks for a new egress route in Bottle ${proposal.spec.bottle}.`,
    `# Approve (adds the route to the Bottle spec):  bottle approve ${name}`,
    `# Reject:                                       bottle reject ${name} --reason "..."`,
  ]
  return `${header.join('\n')}\n${stringify(proposal, { lineWidth: 0 })}`
}

/** Writes a new Proposal file; refuses to replace one that exists. */
export async function writeNewProposal(specRoot: string, proposal: Proposal): Promise<string> {
  const path = proposalPath(proposal.metadata.name)
  const absolute = join(specRoot, path)
  if (await stat(absolute).then(() => true, () => false)) throw new Error(`${path} already exists`)
  await writeFileAtomic(absolute, renderProposalFile(proposal), 0o644)
  return path
}

/** The file's text with its status replaced, comments and everything else kept. */
export function withStatus(text: string, status: ProposalStatus): string {
  const doc = parseDocument(text, { uniqueKeys: true, strict: true })
  if (doc.errors.length > 0) throw new Error(`is not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`)
  doc.set('status', doc.createNode(status))
  return doc.toString({ lineWidth: 0 })
}
