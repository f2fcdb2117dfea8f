/**
 * The git gate's config folder, written by the controller and mounted
 * read-only (default /etc/bottle/git-gate):
 *
 *   config.json    this schema: the remotes and the scan policy
 *   secrets.json   { "<slot>": "<value>" }, mode 0600: https tokens. Every
 *                  value is also a known secret the push scan looks for.
 *   keys/<name>    ssh identity files, mode 0600
 *   known_hosts    the pinned host key line of each ssh upstream
 *
 * The controller renders config.json through `GitGateConfigInput` (the reader
 * owns the format); the gate validates it on every load. The schema is strict
 * so that a misspelled setting fails the load instead of silently loosening
 * the gate. Secret values never appear in config.json: a remote names a slot.
 */
import { z } from 'zod'
import { SLOT } from '../shared/secrets-file.js'
import { parseUpstream } from './upstream-url.js'

/** Where the agent reaches the gate, and the port the daemon listens on by default. */
export const GIT_GATE_PORT = 9420
export const GIT_GATE_HOST = 'git-gate'

export const DEFAULT_SCAN = {
  action: 'block',
  /** Largest added text (or binary file) per file per commit that is scanned. */
  maxFileBytes: 2 * 1024 * 1024,
  /** Largest total of scanned text per push (added lines, messages, small binaries). */
  maxPushScanBytes: 32 * 1024 * 1024,
  /** What happens to content above those caps: refused (default) or let through unscanned, with a log line. */
  oversized: 'block',
} as const

export const DEFAULT_LIMITS = {
  /** Largest request body (after gzip decoding): bounds push packs and fetch negotiations. */
  maxRequestBytes: 64 * 1024 * 1024,
  /** How long a refresh of a mirror from upstream may take before the fetch fails closed. */
  refreshTimeoutSeconds: 120,
  /** How long the scan plus the forward of one push to upstream may take. */
  pushTimeoutSeconds: 600,
} as const

/** A remote's name: its repository on the gate is `<name>.git`. Same rule as the Bottle spec. */
export const REMOTE_NAME = /^[A-Za-z0-9._-]{1,100}$/
/** Slot names are plain identifiers so they are safe in logs and status. */
/** A file in the config folder: relative, no `.` or `..` segment, characters safe on an ssh command line. */
const CONFIG_FILE_PATH = /^(?!\.\.?(?:\/|$))(?!.*\/\.\.?(?:\/|$))[A-Za-z0-9._-]{1,100}(?:\/[A-Za-z0-9._-]{1,100}){0,3}$/

const remoteSchema = z
  .strictObject({
    name: z.string().regex(REMOTE_NAME, 'must be 1-100 of A-Z a-z 0-9 . _ -').describe('The repository on the gate: http://git-gate:9420/<name>.git.'),
    upstream: z.string().describe('The real remote: ssh://user@host[:port]/path or https://host[:port]/path. No credentials.'),
    protocol: z.enum(['ssh', 'https']).describe('Must match the scheme of upstream.'),
    identityFile: z
      .string()
      .regex(CONFIG_FILE_PATH, 'must be a relative path inside the config folder, e.g. keys/app')
      .optional()
      .describe('ssh: the private key, relative to the config folder (mode 0600). Required for ssh.'),
    knownHosts: z
      .string()
      .regex(CONFIG_FILE_PATH, 'must be a relative path inside the config folder, e.g. known_hosts')
      .optional()
      .describe('ssh: a known_hosts file in the config folder holding the pinned key of the upstream host. Required for ssh.'),
    tokenSlot: z
      .string()
      .regex(SLOT, 'must be an identifier (letters, digits, _ . -)')
      .optional()
      .describe('https: the slot in secrets.json holding the token. Absent: anonymous https.'),
    tokenUsername: z
      .string()
      .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'must be a plain user name')
      .default('x-access-token')
      .describe('https: the user name sent with the token (x-access-token fits GitHub and most forges; Bitbucket wants x-token-auth).'),
    allowStale: z.boolean().default(false).describe('Serve the last mirror when upstream is unreachable. Default false: fetches fail closed.'),
  })
  .describe('One repository the agent reaches through the gate.')

const scanSchema = z
  .strictObject({
    action: z.literal('block').default('block').describe('A push carrying a secret is refused; there is no warn mode for pushes.'),
    maxFileBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(DEFAULT_SCAN.maxFileBytes),
    maxPushScanBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(DEFAULT_SCAN.maxPushScanBytes),
    oversized: z.enum(['block', 'allow']).default(DEFAULT_SCAN.oversized),
  })
  .default({ ...DEFAULT_SCAN })

const limitsSchema = z
  .strictObject({
    maxRequestBytes: z.number().int().min(64 * 1024).max(4 * 1024 * 1024 * 1024).default(DEFAULT_LIMITS.maxRequestBytes),
    refreshTimeoutSeconds: z.number().int().min(1).max(3600).default(DEFAULT_LIMITS.refreshTimeoutSeconds),
    pushTimeoutSeconds: z.number().int().min(1).max(7200).default(DEFAULT_LIMITS.pushTimeoutSeconds),
  })
  .default({ ...DEFAULT_LIMITS })

export const gitGateConfigSchema = z
  .strictObject({
    version: z.literal(1),
    remotes: z.array(remoteSchema),
    scan: scanSchema,
    limits: limitsSchema,
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>()
    config.remotes.forEach((remote, i) => {
      const issue = (field: string | undefined, message: string) =>
        ctx.addIssue({ code: 'custom', path: field === undefined ? ['remotes', i] : ['remotes', i, field], message })
      const first = seen.get(remote.name)
      if (first !== undefined) issue('name', `duplicate name (also remotes[${first}]); each remote is its own repository`)
      else seen.set(remote.name, i)

      const upstream = parseUpstream(remote.upstream)
      if (typeof upstream === 'string') issue('upstream', upstream)
      else if (upstream.protocol !== remote.protocol) issue('protocol', `is ${remote.protocol} but upstream is an ${upstream.protocol}:// URL`)

      if (remote.protocol === 'ssh') {
        if (remote.identityFile === undefined) issue(undefined, 'an ssh remote needs identityFile')
        if (remote.knownHosts === undefined) issue(undefined, 'an ssh remote needs knownHosts (the host key is pinned, never learned on first use)')
        if (remote.tokenSlot !== undefined) issue('tokenSlot', 'is for https remotes')
      } else {
        if (remote.identityFile !== undefined) issue('identityFile', 'is for ssh remotes')
        if (remote.knownHosts !== undefined) issue('knownHosts', 'is for ssh remotes')
      }
    })
  })

/** What the controller writes (defaults may be omitted). */
export type GitGateConfigInput = z.input<typeof gitGateConfigSchema>
/** What the gate runs with, defaults filled in. */
export type GitGateConfig = z.output<typeof gitGateConfigSchema>
export type GitGateRemoteConfig = GitGateConfig['remotes'][number]
export type GitGateRemoteInput = GitGateConfigInput['remotes'][number]

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] }

/** Validate parsed JSON. Each error is one line: `remotes[1].upstream: needs a repository path`. */
export function validateGitGateConfig(input: unknown): ValidationResult<GitGateConfig> {
  const result = gitGateConfigSchema.safeParse(input)
  if (result.success) return { ok: true, value: result.data }
  return { ok: false, errors: result.error.issues.map((issue) => formatIssue(issue.path, describeIssue(issue))) }
}

/** Parse and validate the text of config.json. */
export function parseGitGateConfig(text: string): ValidationResult<GitGateConfig> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return { ok: false, errors: [`config.json: invalid JSON: ${oneLine((error as Error).message)}`] }
  }
  return validateGitGateConfig(json)
}


function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
  return oneLine(issue.message.replace(/^Invalid (input|option): /, ''))
}

function formatIssue(path: ReadonlyArray<PropertyKey>, message: string): string {
  let where = ''
  for (const part of path) where += typeof part === 'number' ? `[${part}]` : where === '' ? String(part) : `.${String(part)}`
  return `${where === '' ? 'config' : where}: ${message}`
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
