/**
 * Reading the config folder the controller writes:
 *
 *   config.json   routes, dlp, allowPrivate, limits, upstreamCaCerts, placeholders (config.ts)
 *   secrets.json  { "<slot>": "<value>" }, mode 0600; optional when no route has auth
 *   ca.crt        the Agent's CA certificate (PEM); needed when a route intercepts
 *   ca.key        its private key (PEM)
 *
 * A load either yields everything a runtime needs or one line saying what is
 * wrong; the caller keeps the previous runtime on failure. Errors name files,
 * fields and slots, never secret values.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CertificateAuthority } from './certificates.js'
import { parseEgressConfig, parseEgressSecrets, type EgressConfig } from './config.js'

export const CONFIG_FILE = 'config.json'
export const SECRETS_FILE = 'secrets.json'
export const CA_CERT_FILE = 'ca.crt'
export const CA_KEY_FILE = 'ca.key'

export interface LoadedEgressFiles {
  config: EgressConfig
  secrets: ReadonlyMap<string, string>
  ca: CertificateAuthority | undefined
  /** `sha256:<hex>` of config.json's bytes: the controller computes the same over what it wrote. */
  configHash: string
  /** Covers every file (secrets and CA included); only compared, never shown. */
  fingerprint: string
}

export type LoadResult = { ok: true; files: LoadedEgressFiles } | { ok: false; error: string; configHash: string | null }

const MAX_ERROR_LENGTH = 1000

export async function loadEgressFolder(dir: string): Promise<LoadResult> {
  const configText = await readOptional(join(dir, CONFIG_FILE))
  if (configText === undefined) return { ok: false, error: `${CONFIG_FILE}: missing in ${dir}`, configHash: null }
  const configHash = `sha256:${createHash('sha256').update(configText).digest('hex')}`
  const fail = (errors: string[]): LoadResult => ({ ok: false, error: oneLine(errors), configHash })

  const parsed = parseEgressConfig(configText)
  if (!parsed.ok) return fail(parsed.errors)
  const config = parsed.value

  const secretsText = await readOptional(join(dir, SECRETS_FILE))
  let secrets: ReadonlyMap<string, string> = new Map()
  if (secretsText !== undefined) {
    const parsedSecrets = parseEgressSecrets(secretsText)
    if (!parsedSecrets.ok) return fail(parsedSecrets.errors)
    secrets = parsedSecrets.value
  }
  const missing = config.routes.flatMap((route, i) =>
    route.auth && !secrets.has(route.auth.slot) ? [`routes[${i}].auth.slot: ${route.auth.slot} is not in ${SECRETS_FILE}`] : [],
  )
  if (missing.length > 0) return fail(missing)

  const certPem = await readOptional(join(dir, CA_CERT_FILE))
  const keyPem = await readOptional(join(dir, CA_KEY_FILE))
  const intercepting = config.routes.findIndex((route) => route.tls === 'intercept')
  if ((certPem === undefined) !== (keyPem === undefined)) return fail([`${CA_CERT_FILE} and ${CA_KEY_FILE} must be present together`])
  if (intercepting !== -1 && certPem === undefined) {
    return fail([`routes[${intercepting}]: interception needs ${CA_CERT_FILE} and ${CA_KEY_FILE} in the config folder`])
  }
  const ca = certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : undefined

  const fingerprint = createHash('sha256')
    .update(configText)
    .update('\0')
    .update(secretsText ?? '')
    .update('\0')
    .update(certPem ?? '')
    .update('\0')
    .update(keyPem ?? '')
    .digest('hex')
  return { ok: true, files: { config, secrets, ca, configHash, fingerprint } }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function oneLine(errors: readonly string[]): string {
  const text = errors.join('; ').replace(/\s+/g, ' ')
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text
}
