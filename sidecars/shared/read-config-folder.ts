/**
 * The part of loading a daemon's config folder that every daemon shares:
 * `config.json` (required; its digest names the config, as the controller
 * computes it over what it wrote: bundle-contract.ts) and `secrets.json`
 * (optional; slot to value: secrets-file.ts). Each daemon parses its config
 * with its own validator and checks the rest of its folder itself. Errors
 * come back as one line and never hold a secret value.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CONFIG_FILE, configDigest, SECRETS_FILE } from './bundle-contract.js'
import { parseSecretsFile } from './secrets-file.js'

const MAX_ERROR_LENGTH = 1000

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] }

export interface ConfigAndSecrets<C> {
  configText: string
  /** `sha256:<hex>` of config.json's bytes. */
  configHash: string
  config: C
  secretsText: string | undefined
  secrets: ReadonlyMap<string, string>
}

export type ReadResult<C> = { ok: true; value: ConfigAndSecrets<C> } | { ok: false; error: string; configHash: string | null }

export async function readConfigAndSecrets<C>(dir: string, parseConfig: (text: string) => Parsed<C>): Promise<ReadResult<C>> {
  const configText = await readOptional(join(dir, CONFIG_FILE))
  if (configText === undefined) return { ok: false, error: `${CONFIG_FILE}: missing in ${dir}`, configHash: null }
  const configHash = configDigest(configText)
  const parsed = parseConfig(configText)
  if (!parsed.ok) return { ok: false, error: oneLine(parsed.errors), configHash }
  const secretsText = await readOptional(join(dir, SECRETS_FILE))
  let secrets: ReadonlyMap<string, string> = new Map()
  if (secretsText !== undefined) {
    const parsedSecrets = parseSecretsFile(secretsText)
    if (!parsedSecrets.ok) return { ok: false, error: oneLine(parsedSecrets.errors), configHash }
    secrets = parsedSecrets.value
  }
  return { ok: true, value: { configText, configHash, config: parsed.value, secretsText, secrets } }
}

/** A file's text, or undefined when it does not exist (any other failure throws). */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Several problems as the one line a daemon logs and reports. */
export function oneLine(errors: readonly string[]): string {
  const text = errors.join('; ').replace(/\s+/g, ' ')
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text
}
