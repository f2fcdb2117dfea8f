import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SampleRandom, SECRET_SAMPLES } from '../../../../fixtures/secret-samples.js'
import { compileCredentialMatcher, hasRun } from '../../../../sidecars/dlp/credential-matcher.js'
import { CREDENTIAL_PATTERNS, findCredentials } from '../../../../sidecars/dlp/credential-patterns.js'
import {
  ALNUM,
  BASE32_AWS,
  BASE64,
  BASE64URL,
  FakeRandom,
  LETTERS,
  LOWER_HEX,
  UPPER_ALNUM,
  ageSecretKey,
  breakChecksum,
  discordBotToken,
  githubStyleToken,
  jwt,
  privateKeyBlock,
  pypiToken,
} from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(0xb0771e)
const s = (alphabet: string, n: number) => rng.string(alphabet, n)

interface Case {
  rule: string
  /** A true example, usually inside some surrounding text. */
  hit: string
  /** The closest thing that must not match this rule. */
  miss: string
}

const ghp = githubStyleToken(rng, 'ghp_')
const npm = githubStyleToken(rng, 'npm_')
const awsSecret = rng.mixed(40)

const cases: Case[] = [
  { rule: 'aws-access-key-id', hit: `aws_access_key_id = AKIA${s(BASE32_AWS, 16)}`, miss: 'AKIAIOSFODNN7EXAMPL' },
  { rule: 'aws-access-key-id', hit: `"AccessKeyId": "ASIA${s(BASE32_AWS, 16)}"`, miss: `AKIA${s(BASE32_AWS, 16)}X` },
  { rule: 'aws-secret-access-key', hit: `aws_secret_access_key = ${awsSecret}`, miss: `aws_secret_access_key = ${awsSecret.slice(0, 39)}` },
  { rule: 'aws-secret-access-key', hit: `{"SecretAccessKey": "${awsSecret}"}`, miss: `{"SecretAccessKey": "${'a'.repeat(40)}"}` },
  { rule: 'github-pat', hit: `token: ${ghp}`, miss: breakChecksum(ghp) },
  { rule: 'github-oauth-token', hit: githubStyleToken(rng, 'gho_'), miss: breakChecksum(githubStyleToken(rng, 'gho_')) },
  { rule: 'github-user-token', hit: githubStyleToken(rng, 'ghu_'), miss: breakChecksum(githubStyleToken(rng, 'ghu_')) },
  { rule: 'github-server-token', hit: githubStyleToken(rng, 'ghs_'), miss: `ghs_${s(ALNUM, 35)}` },
  { rule: 'github-refresh-token', hit: githubStyleToken(rng, 'ghr_'), miss: breakChecksum(githubStyleToken(rng, 'ghr_')) },
  { rule: 'github-pat', hit: `x ${ghp}.`, miss: `ghp_${s(ALNUM, 35)}` },
  { rule: 'github-fine-grained-pat', hit: `github_pat_11${s(UPPER_ALNUM, 20)}_${s(ALNUM, 59)}`, miss: `github_pat_11${s(UPPER_ALNUM, 20)}_${s(ALNUM, 40)}` },
  { rule: 'gitlab-pat', hit: `PRIVATE-TOKEN: glpat-${s(BASE64URL, 20)}`, miss: 'glpat-short' },
  { rule: 'gitlab-token', hit: `gldt-${s(ALNUM, 20)}`, miss: 'gldt-docs' },
  { rule: 'anthropic-api-key', hit: `x-api-key: sk-ant-api03-${s(BASE64URL, 93)}AA`, miss: 'sk-ant-api03-short' },
  { rule: 'openai-api-key', hit: `sk-proj-${s(BASE64URL, 60)}T3BlbkFJ${s(BASE64URL, 60)}`, miss: 'sk-learn' },
  { rule: 'openai-api-key', hit: `OPENAI_API_KEY=sk-${s(ALNUM, 20)}T3BlbkFJ${s(ALNUM, 20)}`, miss: `sk-${s('abcdefghijklmnopqrstuvwxyz', 48)}` },
  { rule: 'openrouter-api-key', hit: `sk-or-v1-${s(LOWER_HEX, 64)}`, miss: `sk-or-v1-${s(LOWER_HEX, 63)}` },
  { rule: 'groq-api-key', hit: `gsk_${rng.mixed(52)}`, miss: `gsk_${s(ALNUM, 51)}` },
  { rule: 'xai-api-key', hit: `xai-${rng.mixed(80)}`, miss: 'xai-grok-model' },
  { rule: 'perplexity-api-key', hit: `pplx-${rng.mixed(48)}`, miss: `pplx-${'a'.repeat(48)}` },
  { rule: 'replicate-api-token', hit: `r8_${rng.mixed(37)}`, miss: `r8_${'abc'.repeat(12)}a` },
  { rule: 'slack-bot-token', hit: `xoxb-1234567890-1234567890123-${s(ALNUM, 24)}`, miss: 'xoxb-not-a-token' },
  { rule: 'slack-user-token', hit: `xoxp-1234567890-1234567890-1234567890123-${s(LOWER_HEX, 32)}`, miss: `xoxp-1234567890-${s(LOWER_HEX, 32)}` },
  { rule: 'slack-app-token', hit: `xapp-1-A0123ABCDEF-1234567890123-${s(LOWER_HEX, 64)}`, miss: 'xapp-1-A0123ABCDEF' },
  { rule: 'slack-token', hit: `xoxe.xoxp-1-${s(ALNUM, 120)}`, miss: 'xoxe.xoxp-1-short' },
  { rule: 'slack-webhook', hit: `https://hooks.slack.com/services/T${s(UPPER_ALNUM, 8)}/B${s(UPPER_ALNUM, 8)}/${s(ALNUM, 24)}`, miss: 'https://hooks.slack.com/services/' },
  { rule: 'stripe-secret-key', hit: `sk_live_${rng.mixed(24)}`, miss: 'sk_live_docs' },
  { rule: 'stripe-secret-key', hit: `sk_test_${rng.mixed(99)}`, miss: `sk_test_${'x'.repeat(24)}` },
  { rule: 'stripe-restricted-key', hit: `rk_live_${rng.mixed(24)}`, miss: 'rk_live_' },
  { rule: 'stripe-webhook-secret', hit: `whsec_${rng.mixed(32)}`, miss: 'whsec_example' },
  { rule: 'private-key', hit: privateKeyBlock(rng, 'RSA '), miss: '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' },
  { rule: 'private-key', hit: privateKeyBlock(rng, 'OPENSSH '), miss: 'parse("-----BEGIN OPENSSH PRIVATE KEY-----")' },
  { rule: 'private-key', hit: privateKeyBlock(rng, ''), miss: '-----BEGIN CERTIFICATE-----' },
  { rule: 'private-key', hit: privateKeyBlock(rng, 'ENCRYPTED '), miss: 'PRIVATE KEY' },
  { rule: 'private-key', hit: `${privateKeyBlock(rng, 'PGP ').replace(/KEY-----/g, 'KEY BLOCK-----')}`, miss: '-----BEGIN PGP PUBLIC KEY BLOCK-----' },
  { rule: 'private-key', hit: JSON.stringify({ key: privateKeyBlock(rng, 'EC ') }), miss: '-----BEGIN EC PARAMETERS-----' },
  { rule: 'putty-private-key', hit: 'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none', miss: 'PuTTY-User-Key-File' },
  { rule: 'age-secret-key', hit: ageSecretKey(rng), miss: breakChecksum(ageSecretKey(rng)).replace(/A$/, 'Q') },
  { rule: 'google-api-key', hit: `key=AIza${s(BASE64URL, 35)}`, miss: `AIza${s(BASE64URL, 30)}` },
  { rule: 'google-oauth-client-secret', hit: `"client_secret":"GOCSPX-${s(BASE64URL, 28)}"`, miss: `GOCSPX-${s(BASE64URL, 20)}` },
  { rule: 'google-oauth-refresh-token', hit: `refresh 1//0g${rng.mixed(60)}`, miss: `http://0${rng.mixed(60)}` },
  { rule: 'google-oauth-access-token', hit: `Bearer ya29.a0${rng.mixed(100)}`, miss: 'ya29.short' },
  { rule: 'npm-token', hit: `//registry.npmjs.org/:_authToken=${npm}`, miss: breakChecksum(npm) },
  { rule: 'pypi-token', hit: `password = ${pypiToken(rng)}`, miss: `pypi-AgE${s(BASE64URL, 60)}` },
  { rule: 'pypi-token', hit: pypiToken(rng, 'test.pypi.org'), miss: 'pypi-AgEshort' },
  { rule: 'twilio-api-key', hit: `SK${s(LOWER_HEX, 32)}`, miss: `SK${s(LOWER_HEX, 31)}` },
  { rule: 'sendgrid-api-key', hit: `SG.${s(BASE64URL, 22)}.${s(BASE64URL, 43)}`, miss: `SG.${s(BASE64URL, 22)}` },
  { rule: 'mailgun-api-key', hit: `api:key-${s(LOWER_HEX, 32)}`, miss: 'key-value-store-and-more-words-here' },
  { rule: 'mailchimp-api-key', hit: `${s(LOWER_HEX, 32)}-us21`, miss: 'the-user-guide' },
  { rule: 'discord-bot-token', hit: `Bot ${discordBotToken(rng)}`, miss: `M${s(BASE64URL, 23)}.${s(BASE64URL, 6)}.${s(BASE64URL, 27)}` },
  { rule: 'discord-webhook', hit: `https://discord.com/api/webhooks/123456789012345678/${s(BASE64URL, 68)}`, miss: 'https://discord.com/api/webhooks/' },
  { rule: 'telegram-bot-token', hit: `https://api.telegram.org/bot123456789:AA${s(BASE64URL, 33)}/getMe`, miss: '123456789:AAbc' },
  { rule: 'shopify-token', hit: `shpat_${s(LOWER_HEX, 32)}`, miss: 'shpat_' },
  { rule: 'square-access-token', hit: `EAAA${rng.mixed(60)}`, miss: `EAAA${'A'.repeat(60)}` },
  { rule: 'square-oauth-secret', hit: `sq0csp-${s(BASE64URL, 43)}`, miss: `sq0csp-${s(BASE64URL, 20)}` },
  { rule: 'azure-storage-account-key', hit: `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${s(BASE64, 86)}==;EndpointSuffix=core.windows.net`, miss: 'AccountKey=;' },
  { rule: 'azure-shared-access-key', hit: `Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${s(BASE64, 43)}=`, miss: 'SharedAccessKeyName=root' },
  { rule: 'azure-sas-token', hit: `https://x.blob.core.windows.net/c/b?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig=${s(ALNUM, 43)}%3D`, miss: '?sv=2022-11-02&sig=abc' },
  { rule: 'azure-ad-client-secret', hit: `client_secret: ${s(ALNUM, 3)}8Q~${s(BASE64URL, 34)}`, miss: 'Q~' },
  { rule: 'digitalocean-token', hit: `dop_v1_${s(LOWER_HEX, 64)}`, miss: `dop_v1_${s(LOWER_HEX, 60)}` },
  { rule: 'heroku-api-key', hit: `HRKU-AA${s(BASE64URL, 58)}`, miss: 'HRKU-AA' },
  { rule: 'heroku-api-key', hit: `HEROKU_API_KEY=${crypto.randomUUID()}`, miss: `request_id=${crypto.randomUUID()}` },
  { rule: 'vault-token', hit: `VAULT_TOKEN=hvs.${rng.mixed(90)}`, miss: 'hvs.example' },
  { rule: 'terraform-cloud-token', hit: `${s(ALNUM, 14)}.atlasv1.${s(BASE64URL, 67)}`, miss: 'app.atlasv1.short' },
  { rule: 'doppler-token', hit: `dp.pt.${s(ALNUM, 43)}`, miss: 'dp.pt.short' },
  { rule: 'databricks-token', hit: `dapi${s(LOWER_HEX, 32)}`, miss: 'dapi-docs' },
  { rule: 'atlassian-api-token', hit: `ATATT3xFfGF0${s(BASE64URL, 170)}=${s('0123456789ABCDEF', 8)}`, miss: 'ATATT3xFfGF0short' },
  { rule: 'linear-api-key', hit: `lin_api_${s(ALNUM, 40)}`, miss: 'lin_api_docs' },
  { rule: 'huggingface-token', hit: `hf_${s(LETTERS, 30)}Ab${s(LETTERS, 2)}`, miss: `hf_${'abcdefghijklmnopq'.repeat(2)}` },
  { rule: 'pulumi-access-token', hit: `pul-${s(LOWER_HEX, 40)}`, miss: 'pul-request' },
  { rule: 'grafana-token', hit: `glsa_${s(ALNUM, 32)}_${s(LOWER_HEX, 8)}`, miss: 'glsa_' },
  { rule: 'sentry-auth-token', hit: `sntryu_${s(LOWER_HEX, 64)}`, miss: 'sntryu_' },
  { rule: 'postman-api-key', hit: `PMAK-${s(LOWER_HEX, 24)}-${s(LOWER_HEX, 34)}`, miss: 'PMAK-' },
  { rule: 'new-relic-api-key', hit: `NRAK-${s(UPPER_ALNUM, 27)}`, miss: 'NRAK-' },
  { rule: 'dynatrace-token', hit: `dt0c01.${s(UPPER_ALNUM, 24)}.${s(UPPER_ALNUM, 64)}`, miss: 'dt0c01.' },
  { rule: 'supabase-token', hit: `sbp_${s(LOWER_HEX, 40)}`, miss: 'sbp_' },
  { rule: 'jwt', hit: `Authorization: Bearer ${jwt(rng)}`, miss: jwt(rng, { typ: 'JWT' }) },
  { rule: 'jwt', hit: jwt(rng, { alg: 'RS256', kid: 'k1' }), miss: `eyJ${s(BASE64URL, 20)}.eyJ${s(BASE64URL, 20)}.${s(BASE64URL, 43)}` },
  { rule: 'generic-secret-assignment', hit: `DB_PASSWORD=${rng.mixed(20)}`, miss: 'DB_PASSWORD=${DB_PASSWORD}' },
  { rule: 'generic-secret-assignment', hit: `{"client_secret": "${rng.mixed(32)}"}`, miss: '{"client_secret": "<your-client-secret>"}' },
  { rule: 'generic-secret-assignment', hit: `api_key: ${rng.mixed(16)}+/x`, miss: 'api_key: process.env.API_KEY' },
  { rule: 'generic-secret-assignment', hit: `secret => '${rng.mixed(12)}!'`, miss: 'password: string' },
  { rule: 'generic-secret-assignment', hit: `accessToken = "${rng.mixed(40)}"`, miss: 'secretName: my-secret-name-2' },
  { rule: 'generic-secret-assignment', hit: `passwd:${rng.mixed(10)}`, miss: 'password = hunter2hunter2' },
  // A keyword made by two words meeting ("map" + "assistant"), then a MIME type: a join of JSON siblings reads this.
  { rule: 'generic-secret-assignment', hit: `passistant: ${rng.mixed(16)}/octet`, miss: 'passistantContent-Type: application/octet-stream' },
  { rule: 'url-basic-auth', hit: 'https://user:pass@host.example.com/x', miss: 'https://user:${PASSWORD}@host.example.com/x' },
  { rule: 'url-basic-auth', hit: `postgres://app:${rng.mixed(16)}@db:5432/app`, miss: 'ssh://git@git.example.com:22/me/app.git' },
  { rule: 'url-basic-auth', hit: `git clone https://x-access-token:${rng.mixed(20)}@github.com/o/r`, miss: 'https://gateway.example.com:8443/path' },
]

const rulesOf = (text: string) => findCredentials(text).map((m) => m.rule)

describe('credential patterns', () => {
  it.each(cases)('$rule matches a true example', ({ rule, hit }) => {
    expect(rulesOf(hit)).toContain(rule)
  })

  it.each(cases)('$rule ignores a near miss', ({ rule, miss }) => {
    expect(rulesOf(miss)).not.toContain(rule)
  })

  it('has a case for every rule', () => {
    // Rules without a hand-written case here have random samples and near misses (credential-catalog.test.ts).
    const covered = new Set([...cases.map((c) => c.rule), ...Object.keys(SECRET_SAMPLES)])
    expect(CREDENTIAL_PATTERNS.map((p) => p.id).filter((id) => !covered.has(id))).toEqual([])
  })

  it('has unique kebab-case ids and global regexes', () => {
    const ids = CREDENTIAL_PATTERNS.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of CREDENTIAL_PATTERNS) {
      expect(p.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/)
      expect(p.pattern.flags).toContain('g')
    }
    expect(ids.length).toBeGreaterThanOrEqual(30)
  })

  it('reports the span of the credential, not of its context', () => {
    const secret = rng.mixed(24)
    const text = `{"password": "${secret}"}`
    const match = findCredentials(text).find((m) => m.rule === 'generic-secret-assignment')
    expect(match && text.slice(match.index, match.index + match.length)).toBe(secret)
    const url = `https://me:${secret}@example.com`
    const basic = findCredentials(url).find((m) => m.rule === 'url-basic-auth')
    expect(basic && url.slice(basic.index, basic.index + basic.length)).toBe(secret)
  })

  it.each([
    { name: 'a spec env map', text: 'GIT_AUTHOR_NAME: dev\nNODE_ENV: production\nLOG_LEVEL: debug' },
    { name: 'a reference', text: 'tokenRef: {env: GH_TOKEN}' },
    { name: 'a pinned host key', text: `knownHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${s(BASE64, 43)}"` },
    { name: 'an ssh upstream', text: 'upstream: ssh://git@git.example.com:22/me/app.git' },
    { name: 'a git sha', text: `commit ${s(LOWER_HEX, 40)}` },
    { name: 'a uuid', text: `id: ${crypto.randomUUID()}` },
    { name: 'a placeholder', text: 'GH_TOKEN=${GH_TOKEN}' },
    { name: 'TypeScript', text: 'const secret = await loadSecret(name); const password: string = input.password' },
    { name: 'prose', text: 'Set your API key in the environment; never paste a password into chat. The token expires.' },
    { name: 'a tokenizer name', text: 'tokenizer: bert-base-uncased-v2' },
  ])('finds nothing in $name', ({ text }) => {
    expect(findCredentials(text)).toEqual([])
  })
})

describe('keyword prefilter', () => {
  const unfiltered = compileCredentialMatcher(CREDENTIAL_PATTERNS, { prefilter: false })
  // The search over closed gaps needs the keyword pass's offsets, so only the prefiltered matcher has it.
  const sorted = (text: string, find: (t: string) => { rule: string; index: number; length: number; gapsClosed?: true }[]) =>
    find(text)
      .filter((m) => !m.gapsClosed)
      .map((m) => `${m.rule}@${m.index}+${m.length}`)
      .sort()

  it('finds exactly what running every pattern finds', () => {
    const sampleRng = new SampleRandom(0xf11e)
    const generated = Object.values(SECRET_SAMPLES).flatMap((s) => [s.generate(sampleRng), ...s.nearMisses(sampleRng).slice(0, 1)])
    const pieces = [...cases.flatMap((c) => [c.hit, c.miss]), ...generated, ' ', '\n', '"', '=', 'api-', 'key-', 'x', ':']
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 8 }), (parts) => {
        const text = parts.join('')
        expect(sorted(text, findCredentials)).toEqual(sorted(text, unfiltered))
      }),
      { numRuns: 300 },
    )
  })

  it('still triggers a keyword that starts inside another keyword', () => {
    // `api-key` and `key-` overlap: a left-to-right keyword scan consumes `api-key` first.
    const text = `api-key-${s(LOWER_HEX, 32)}`
    expect(rulesOf(text)).toContain('mailgun-api-key')
  })
})

describe('hasRun', () => {
  const token = new Uint8Array(128)
  for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-') token[c.charCodeAt(0)] = 1
  it.each([
    { name: 'an empty text', text: '', want: false },
    { name: 'words shorter than the run', text: 'please refactor the request handler so that errors', want: false },
    { name: 'exactly the run length', text: `x ${'a'.repeat(24)} y`, want: true },
    { name: 'one short of it', text: `x ${'a'.repeat(23)} y`, want: false },
    { name: 'a run at the very start', text: `${'Z'.repeat(24)}.`, want: true },
    { name: 'a run at the very end', text: `..${'0'.repeat(24)}`, want: true },
    { name: 'a run broken by a non-member', text: `${'a'.repeat(12)}.${'a'.repeat(12)}`, want: false },
    { name: 'non-ASCII inside a run', text: `${'a'.repeat(12)}é${'a'.repeat(12)}`, want: false },
  ])('$name', ({ text, want }) => {
    expect(hasRun(text, token, 24)).toBe(want)
  })

  it('agrees with a regex on any text', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'Z', '9', '_', '-', '.', ' ', 'é', 'aaaaaaaa'), { maxLength: 40 }), (parts) => {
        const text = parts.join('')
        expect(hasRun(text, token, 24)).toBe(/[A-Za-z0-9_-]{24}/.test(text))
      }),
      { numRuns: 500 },
    )
  })
})
