/**
 * The contract between the controller and the sidecar bundle: where the
 * config folder's files are, how a config is named (its digest), and the
 * report egress writes back. Both sides and the tests import it from here.
 *
 * How a route edit travels from the Bottle file to the running proxy:
 *   1. the user edits `spec.egress.routes` in the Bottle file;
 *   2. the controller loads the spec tree and reconciles each Agent of it;
 *   3. the plan renders the egress config (controller/plan/render-egress-config.ts);
 *   4. the controller writes it atomically into the Agent's config folder
 *      (EGRESS_CONFIG_PATH; mounted read-only at /etc/bottle in the bundle);
 *   5. it signals the bundle (SIGHUP), which init passes on to egress;
 *   6. egress reloads the folder, validates it and, when it is good, swaps it
 *      in (a bad one keeps the old config in force), then writes
 *      EGRESS_APPLIED_STATE_PATH with the digest of the config in force;
 *   7. the controller reads that report and compares the digest with
 *      configDigest of what it wrote: equal means status `routes.applied`
 *      and the RoutesApplied condition are true.
 */
import { createHash } from 'node:crypto'
import * as z from 'zod/mini'

/** Where the bundle sees its two folders. */
export const BUNDLE_MOUNTS = {
  /** The config folder: the controller writes, the bundle reads (read-only mount). */
  config: '/etc/bottle',
  /** The state folder: the bundle writes what it reports back. */
  state: '/var/lib/bottle',
} as const

/** The two folders on the host, relative to the Agent's state folder. */
export const BUNDLE_HOST_FOLDERS = { config: 'sidecars', state: 'sidecars-state' } as const

export type BundleDaemon = 'egress' | 'git-gate' | 'supervise'

/** Every daemon's config folder holds these two. */
export const CONFIG_FILE = 'config.json'
export const SECRETS_FILE = 'secrets.json'
/** Egress's CA (certificate and key), used to intercept TLS. */
export const CA_CERT_FILE = 'ca.crt'
export const CA_KEY_FILE = 'ca.key'
/** Egress's report in its state folder. */
export const APPLIED_STATE_FILE = 'applied.json'

/** A daemon's file in the config folder, relative to the Agent's state folder (`sidecars/egress/config.json`). */
export function configFilePath(daemon: BundleDaemon, file: string): string {
  return `${BUNDLE_HOST_FOLDERS.config}/${daemon}/${file}`
}

/** A daemon's config folder as the bundle sees it. */
export function configDirInBundle(daemon: BundleDaemon): string {
  return `${BUNDLE_MOUNTS.config}/${daemon}`
}

/** A daemon's state folder as the bundle sees it. */
export function stateDirInBundle(daemon: BundleDaemon): string {
  return `${BUNDLE_MOUNTS.state}/${daemon}`
}

export const EGRESS_CONFIG_PATH = configFilePath('egress', CONFIG_FILE)
export const EGRESS_SECRETS_PATH = configFilePath('egress', SECRETS_FILE)
export const EGRESS_CA_CERT_PATH = configFilePath('egress', CA_CERT_FILE)
export const EGRESS_CA_KEY_PATH = configFilePath('egress', CA_KEY_FILE)
export const GIT_GATE_CONFIG_PATH = configFilePath('git-gate', CONFIG_FILE)
export const GIT_GATE_SECRETS_PATH = configFilePath('git-gate', SECRETS_FILE)
export const SUPERVISE_CONFIG_PATH = configFilePath('supervise', CONFIG_FILE)
/** Egress's report, relative to the Agent's state folder. */
export const EGRESS_APPLIED_STATE_PATH = `${BUNDLE_HOST_FOLDERS.state}/egress/${APPLIED_STATE_FILE}`

/** The name of a config: `sha256:<hex>` of the config file's exact bytes, as written and as read. */
export function configDigest(text: string | Buffer): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`
}

const enforcedRouteSchema = z.object({
  host: z.string(),
  paths: z.optional(z.array(z.string())),
  tls: z.enum(['intercept', 'passthrough']),
  auth: z.optional(z.object({ scheme: z.enum(['Bearer', 'token']), slot: z.string() })),
  upstream: z.optional(z.string()),
})

const appliedStateSchema = z.object({
  /** When the config in force was applied; null when none ever was. */
  appliedAt: z.nullable(z.string()),
  /** configDigest of the config.json in force; null when none. */
  configHash: z.nullable(z.string()),
  routes: z.array(enforcedRouteSchema),
  /** When the last load was attempted. */
  attemptedAt: z.string(),
  /** Digest of the config.json the last attempt read; differs from configHash after a rejection. */
  attemptedConfigHash: z.nullable(z.string()),
  /** One line, present when the last attempt was rejected and the previous config kept. */
  error: z.optional(z.string()),
})

/** A route as egress reports it enforces it: slots and upstreams, never a secret value. */
export type EnforcedRoute = z.infer<typeof enforcedRouteSchema>

/** What egress is enforcing now, written after every load attempt. */
export type EgressAppliedState = z.infer<typeof appliedStateSchema>

export function formatAppliedState(state: EgressAppliedState): string {
  return `${JSON.stringify(state, null, 2)}\n`
}

/** The report, or undefined when the text is not one (a reader treats that as no report yet). */
export function parseAppliedState(text: string): EgressAppliedState | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const parsed = appliedStateSchema.safeParse(json)
  return parsed.success ? parsed.data : undefined
}
