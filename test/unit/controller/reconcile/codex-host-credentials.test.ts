import { chmod } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readCodexHostCredentials } from '../../../../controller/reconcile/codex-host-credentials.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

const NOW = new Date('2026-11-23T10:00:00Z')
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
const jwt = (claims: object) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw`
const EXP = Math.floor(NOW.getTime() / 1000) + 3600
const ACCESS = jwt({ exp: EXP, iat: EXP - 7200, sub: 'user-real-subject', email: 'someone@example.com', 'https://api.openai.com/auth': { chatgpt_plan_type: 'plus', chatgpt_account_id: 'acct-1', secret_session: 'sess-value' } })
const REFRESH = 'rt_real_refresh_value_that_must_not_leak'

let home: TempFolder
beforeEach(async () => {
  home = await TempFolder.create('bottle-codex-')
})
afterEach(async () => {
  await home.dispose()
})

const write = async (auth: object) => {
  const path = await home.write('.codex/auth.json', JSON.stringify(auth))
  await chmod(path, 0o600)
}
const env = () => ({ HOME: home.path })

describe('readCodexHostCredentials', () => {
  it('gives egress the access token and the agent a placeholder holding none of the secrets', async () => {
    await write({ auth_mode: 'chatgpt', OPENAI_API_KEY: null, tokens: { id_token: ACCESS, access_token: ACCESS, refresh_token: REFRESH, account_id: 'acct-1' }, last_refresh: '2026-11-23T08:00:00Z' })
    const creds = readCodexHostCredentials(env(), NOW)
    expect(creds.accessToken).toBe(ACCESS)
    expect(creds.expiresAt).toBe(EXP)
    const text = creds.placeholderAuthJson
    for (const secret of [ACCESS, REFRESH, 'c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw', 'user-real-subject', 'someone@example.com', 'sess-value']) expect(text).not.toContain(secret)
    const placeholder = JSON.parse(text)
    expect(placeholder.auth_mode).toBe('chatgpt')
    expect(placeholder.tokens.account_id).toBe('acct-1')
    expect(placeholder.tokens.refresh_token).toBe('bottle-placeholder')
    const claims = JSON.parse(Buffer.from(placeholder.tokens.access_token.split('.')[1], 'base64url').toString())
    expect(claims.exp).toBe(EXP)
    expect(claims['https://api.openai.com/auth']).toEqual({ chatgpt_plan_type: 'plus', chatgpt_account_id: 'acct-1' })
    // Stable for one host token, so a resync does not recreate the agent.
    expect(readCodexHostCredentials(env(), new Date(NOW.getTime() + 60_000)).placeholderAuthJson).toBe(text)
  })

  it.each([
    ['a missing file', undefined, 'not found; run "codex login"'],
    ['an API-key login', { auth_mode: 'apikey', OPENAI_API_KEY: 'sk-x' }, 'is an API-key login'],
    ['no tokens', { auth_mode: 'chatgpt' }, 'has no tokens'],
    ['a token that is no JWT', { auth_mode: 'chatgpt', tokens: { access_token: 'opaque' } }, 'not a JWT with an expiry'],
    ['an expired token', { auth_mode: 'chatgpt', tokens: { access_token: jwt({ exp: EXP - 7200 }) } }, 'expired at'],
  ])('refuses %s with what to do', async (_name, auth, message) => {
    if (auth) await write(auth)
    expect(() => readCodexHostCredentials(env(), NOW)).toThrow(message)
  })

  it('reads $CODEX_HOME when set', async () => {
    const path = await home.write('elsewhere/auth.json', JSON.stringify({ auth_mode: 'chatgpt', tokens: { access_token: ACCESS } }))
    await chmod(path, 0o600)
    expect(readCodexHostCredentials({ HOME: '/nowhere', CODEX_HOME: `${home.path}/elsewhere` }, NOW).accessToken).toBe(ACCESS)
  })
})
