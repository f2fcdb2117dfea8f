/**
 * The two files the controller writes into the supervise config folder
 * (`/etc/bottle/supervise`, read-only in the bundle). The daemon reads both
 * on every tool call, so a rewrite takes effect at once, without a signal.
 *
 * `config.json` (rendered with the rest of the Agent's files):
 *   { "version": 1, "agent": "impl", "bottle": "dev",
 *     "limits": { "maxPending": 5, "maxPerHour": 10 } }
 *
 * `decisions.json` (rewritten by the controller's proposal intake):
 *   { "version": 1, "nextNumber": 4,
 *     "proposals": { "impl-3": { "phase": "Approved", "host": "docs.example.com",
 *                                "message": "...", "decidedAt": "2025-..." } } }
 *   `nextNumber` is the lowest proposal number the controller has not seen
 *   used for this agent; the daemon never numbers a proposal below it.
 *   An entry with phase Rejected and `refused: true` was refused by the
 *   controller itself (a rule or a rate limit), not by a human.
 *
 * The controller imports these schemas to render the files: the reader
 * owns the format.
 */
import * as z from 'zod'

export const CONFIG_FILE = 'config.json'
export const DECISIONS_FILE = 'decisions.json'

const NAME = /^[a-z][a-z0-9-]{0,52}$/
/** `<agent>-<n>`, the Proposal CRD's name pattern. */
export const PROPOSAL_ID = /^[a-z][a-z0-9-]{0,52}-[0-9]{1,9}$/

export const DEFAULT_LIMITS = { maxPending: 5, maxPerHour: 10 } as const

export const superviseConfigSchema = z.strictObject({
  version: z.literal(1),
  agent: z.string().regex(NAME).describe('The Agent this bundle serves; proposals are numbered <agent>-<n>.'),
  bottle: z.string().regex(NAME).describe('The Bottle an approved route is added to.'),
  limits: z.strictObject({
    maxPending: z.int().min(1).max(100).describe('Proposals waiting for a human at once, per agent.'),
    maxPerHour: z.int().min(1).max(1000).describe('Proposals accepted per rolling hour, per agent.'),
  }),
})

export type SuperviseConfig = z.infer<typeof superviseConfigSchema>

export const proposalPhaseSchema = z.enum(['Pending', 'Approved', 'Rejected'])
export type ProposalPhase = z.infer<typeof proposalPhaseSchema>

export const decisionSchema = z.strictObject({
  phase: proposalPhaseSchema,
  host: z.string().max(300),
  paths: z.array(z.string().max(600)).max(50).optional(),
  message: z.string().max(4000).optional(),
  decidedAt: z.string().max(64).optional(),
  /** Refused by the controller (a rule or a rate limit); no Proposal file exists. */
  refused: z.boolean().optional(),
})

export type Decision = z.infer<typeof decisionSchema>

export const decisionsSchema = z.strictObject({
  version: z.literal(1),
  nextNumber: z.int().min(1).max(999_999_999),
  proposals: z.record(z.string().regex(PROPOSAL_ID), decisionSchema),
})

export type Decisions = z.infer<typeof decisionsSchema>

export const EMPTY_DECISIONS: Decisions = { version: 1, nextNumber: 1, proposals: {} }

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

function parseWith<T>(schema: z.ZodType<T>, file: string, text: string): Parsed<T> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, error: `${file}: invalid JSON` }
  }
  const result = schema.safeParse(json)
  if (result.success) return { ok: true, value: result.data }
  const issue = result.error.issues[0]!
  return { ok: false, error: `${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`.replace(/\s+/g, ' ') }
}

export function parseSuperviseConfig(text: string): Parsed<SuperviseConfig> {
  return parseWith(superviseConfigSchema, CONFIG_FILE, text)
}

export function parseDecisions(text: string): Parsed<Decisions> {
  return parseWith(decisionsSchema, DECISIONS_FILE, text)
}

/** The number in `<agent>-<n>`, when `id` is one of `agent`'s proposal ids. */
export function proposalNumber(id: string, agent: string): number | undefined {
  if (!id.startsWith(`${agent}-`)) return undefined
  const rest = id.slice(agent.length + 1)
  return /^[0-9]{1,9}$/.test(rest) ? Number(rest) : undefined
}
