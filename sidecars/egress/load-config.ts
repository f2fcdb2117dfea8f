/**
 * Reading the config folder the controller writes:
 *
 *   config.json   routes, dlp, allowPrivate, limits, upstreamCaCerts, placeholders (config.ts)
 *   secrets.json  { "<slot>": "<value>" }, mode 0600; optional when no route has auth
 *   ca.crt        the Agent's CA certificate (PEM); needed when a route intercepts
 *   ca.key        its private key (PEM)
 *
 * A load either yields everything a compiled config needs or one line saying what is
 * wrong; the caller keeps the previous compiled config on failure. Errors name files,
 * fields and slots, never secret values.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { CA_CERT_FILE, CA_KEY_FILE, CONFIG_FILE, SECRETS_FILE } from '../shared/bundle-contract.js'
import { oneLine, readConfigAndSecrets, readOptional } from '../shared/read-config-folder.js'
import type { CertificateAuthority } from './certificates.js'
import { parseEgressConfig, type EgressConfig } from './config.js'

export interface LoadedEgressFiles {
  config: EgressConfig
  secrets: ReadonlyMap<string, string>
  ca: CertificateAuthority | undefined
  /** configDigest of config.json (bundle-contract.ts): the controller computes the same over what it wrote. */
  configHash: string
  /** Covers every file (secrets and CA included); only compared, never shown. */
  fingerprint: string
}

export type LoadResult = { ok: true; files: LoadedEgressFiles } | { ok: false; error: string; configHash: string | null }

export async function loadEgressFolder(dir: string): Promise<LoadResult> {
  const read = await readConfigAndSecrets(dir, parseEgressConfig)
  if (!read.ok) return read
  const { configText, configHash, config, secretsText, secrets } = read.value
  const fail = (errors: string[]): LoadResult => ({ ok: false, error: oneLine(errors), configHash })
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
