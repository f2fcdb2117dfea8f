/**
 * Codex's `forwardHostCredentials`: the host user is logged in to Codex with
 * ChatGPT (`codex login`), and the bottle's agent should work as them without
 * holding anything that could be replayed elsewhere.
 *
 * The controller reads the host's auth.json and hands out two things:
 *   - the short-lived access token, to egress only (it injects it as the
 *     Bearer for the OpenAI hosts);
 *   - a placeholder auth.json for the agent with the same shape, so Codex
 *     believes it is logged in: every token replaced by an unsigned JWT that
 *     keeps only the non-secret claims Codex reads (expiry, plan, account
 *     ids), and the refresh token by a placeholder. Its expiry is the host
 *     token's, so Codex does not try to refresh (it could not: the token
 *     endpoint is no route) before egress's token runs out.
 * API-key logins and expired tokens are refused with what to do instead.
 */
import { readFileSync } from 'node:fs'
import { PROVIDERS } from '../plan/providers.js'

export const PLACEHOLDER = 'bottle-placeholder'

export interface CodexHostCredentials {
  accessToken: string
  /** Expiry of the access token, seconds since the epoch. */
  expiresAt: number
  placeholderAuthJson: string
}

export class CodexHostCredentialError extends Error {
  override readonly name = 'CodexHostCredentialError'
}

export function readCodexHostCredentials(env: NodeJS.ProcessEnv, now: Date = new Date()): CodexHostCredentials {
  const path = PROVIDERS.codex.hostLogin.authFile(env)
  const fail = (why: string): never => {
    throw new CodexHostCredentialError(`codex host login (${path}): ${why}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') fail('not found; run "codex login" on the host, or turn off auth.forwardHostCredentials')
    fail(code ? `cannot be read (${code})` : 'is not valid JSON')
  }
  if (!isObject(raw)) return fail('is not a JSON object')
  if (typeof raw.auth_mode === 'string' && raw.auth_mode.toLowerCase().replace(/[^a-z]/g, '') === 'apikey') {
    fail('is an API-key login, not a ChatGPT login; run "codex login" on the host, or use auth.tokenRef for an API key')
  }
  if (!isObject(raw.tokens)) return fail('has no tokens; run "codex login" on the host')
  const accessToken = raw.tokens.access_token
  if (typeof accessToken !== 'string' || accessToken === '') return fail('has no tokens.access_token; run "codex login" on the host')
  const claims = jwtClaims(accessToken)
  if (!claims || typeof claims.exp !== 'number') return fail('tokens.access_token is not a JWT with an expiry')
  const expiresAt = claims.exp
  if (expiresAt * 1000 <= now.getTime()) fail(`the access token expired at ${new Date(expiresAt * 1000).toISOString()}; run "codex login" on the host again`)
  // Stable for one host token: a placeholder that changed with the clock would recreate the agent on every reconcile.
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : expiresAt - 3600
  return { accessToken, expiresAt, placeholderAuthJson: JSON.stringify(placeholderAuth(raw, expiresAt, new Date(issuedAt * 1000)), null, 2) + '\n' }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.')
  if (parts.length < 2) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
    return isObject(claims) ? claims : undefined
  } catch {
    return undefined
  }
}

function placeholderAuth(raw: Record<string, unknown>, expiresAt: number, refreshedAt: Date): Record<string, unknown> {
  const tokens = raw.tokens as Record<string, unknown>
  const out: Record<string, unknown> = {}
  if (typeof raw.auth_mode === 'string') out.auth_mode = raw.auth_mode
  out.OPENAI_API_KEY = null
  out.last_refresh = refreshedAt.toISOString()
  out.tokens = {
    id_token: placeholderJwt(tokens.id_token, expiresAt),
    access_token: placeholderJwt(tokens.access_token, expiresAt),
    refresh_token: PLACEHOLDER,
    // The selected account is an id, not a credential, and Codex sends it as a header.
    ...(typeof tokens.account_id === 'string' ? { account_id: tokens.account_id } : {}),
  }
  return out
}

/** Claims of the OpenAI auth claim that say which plan and account, and nothing that authenticates. */
const KEPT_AUTH_CLAIMS = /(^|_)(plan_type|account_id|user_id|subscription_active_start|subscription_active_until)$/

function placeholderJwt(token: unknown, expiresAt: number): string {
  const claims = typeof token === 'string' ? jwtClaims(token) ?? {} : {}
  const payload: Record<string, unknown> = { sub: PLACEHOLDER, exp: expiresAt }
  for (const key of ['iat', 'nbf', 'auth_time']) if (typeof claims[key] === 'number') payload[key] = claims[key]
  if (Array.isArray(claims.aud)) payload.aud = claims.aud.filter((a) => typeof a === 'string')
  else if (typeof claims.aud === 'string') payload.aud = claims.aud
  payload.email = 'agent@bottle.invalid'
  const authClaim = claims['https://api.openai.com/auth']
  if (isObject(authClaim)) {
    payload['https://api.openai.com/auth'] = Object.fromEntries(Object.entries(authClaim).filter(([k, v]) => KEPT_AUTH_CLAIMS.test(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')))
  }
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.${PLACEHOLDER}`
}
