import { Buffer } from 'node:buffer'
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ALNUM, BASE32, BASE64, BASE64URL, SampleRandom, UPPER_ALNUM } from '../../../../fixtures/secret-samples.js'
import { findCredentials } from '../../../../sidecars/dlp/credential-patterns.js'
import { isKnownPlaceholder } from '../../../../sidecars/dlp/known-placeholders.js'

describe('known placeholders', () => {
  it.each([
    { value: '${GH_TOKEN}', placeholder: true },
    { value: '${{ secrets.NPM_TOKEN }}', placeholder: true },
    { value: '$(cat /run/secrets/x)', placeholder: true },
    { value: '$API_KEY', placeholder: true },
    { value: '$1', placeholder: true },
    { value: '%API_KEY%', placeholder: true },
    { value: '%s', placeholder: true },
    { value: '{{ .Values.password }}', placeholder: true },
    { value: '{0}', placeholder: true },
    { value: '@DB_PASSWORD@', placeholder: true },
    { value: '<your-token>', placeholder: true },
    { value: '[token]', placeholder: true },
    { value: '********', placeholder: true },
    { value: 'xxxxxxxxxxxx', placeholder: true },
    { value: '', placeholder: true },
    { value: 'your_api_key_here', placeholder: true },
    { value: 'your-token-here', placeholder: true },
    { value: 'YOURAPIKEY', placeholder: true },
    { value: 'changeme123', placeholder: true },
    { value: 'changeit', placeholder: true },
    { value: 'EXAMPLE-KEY-123', placeholder: true },
    { value: 'REDACTED', placeholder: true },
    { value: 'null', placeholder: true },
    { value: 'password', placeholder: true },
    { value: '/usr/local/etc/secret.pem', placeholder: true },
    { value: 'sk-proj-abc…xyz', placeholder: true },
    { value: 'pass', placeholder: false },
    { value: 'Xk9#mQ2$vL7!', placeholder: false },
    { value: 'aaab', placeholder: false },
    { value: 'example'.slice(1), placeholder: false },
  ])('$value', ({ value, placeholder }) => {
    expect(isKnownPlaceholder(value)).toBe(placeholder)
  })
})

describe('known placeholders in the catalog', () => {
  const rng = new SampleRandom(0x9a7e)
  const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  // jwt.io's sample token, rebuilt rather than written out.
  const header = b64url({ alg: 'HS256', typ: 'JWT' })
  const payload = b64url({ sub: '1234567890', name: 'John Doe', iat: 1516239022 })
  const jwtIo = `${header}.${payload}.${createHmac('sha256', 'your-256-bit-secret').update(`${header}.${payload}`).digest('base64url')}`
  const randomJwt = `${header}.${b64url({ sub: rng.string(ALNUM, 12), iat: 1_700_000_000 })}.${rng.string(BASE64URL, 43)}`
  const azurite = `${'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/'}${'K1SZFPTOtr/KBHBeksoGMGw=='}`

  it.each([
    { rule: 'aws-access-key-id', example: 'AKIAIOSFODNN7EXAMPLE', real: `AKIA${rng.string(BASE32, 16)}` },
    { rule: 'aws-secret-access-key', example: `aws_secret_access_key = ${'wJalrXUtnFEMI/K7MDENG/bPxRfiCY'}EXAMPLEKEY`, real: `aws_secret_access_key = ${rng.string(BASE64, 40)}` },
    { rule: 'slack-webhook', example: `https://hooks.slack.com/services/T00000000/B00000000/${'X'.repeat(24)}`, real: `https://hooks.slack.com/services/T${rng.string(UPPER_ALNUM, 8)}/B${rng.string(UPPER_ALNUM, 8)}/${rng.string(ALNUM, 24)}` },
    { rule: 'google-api-key', example: `AIzaSy${'abcdefghijklmnopqrstuvwxyz1234567'}`, real: `AIzaSy${rng.string(BASE64URL, 33)}` },
    { rule: 'stripe-secret-key', example: `sk_test_${'4eC39HqLyjWDarjtT1zdp7dc'}`, real: `sk_test_${rng.string(ALNUM, 24)}` },
    { rule: 'jwt', example: jwtIo, real: randomJwt },
    { rule: 'azure-storage-account-key', example: `AccountName=devstoreaccount1;AccountKey=${azurite}`, real: `AccountName=x;AccountKey=${Buffer.from(rng.string(ALNUM, 64)).toString('base64')}` },
    { rule: 'url-basic-auth', example: 'postgres://app:changeme@db.internal:5432/app', real: `postgres://app:${rng.string(ALNUM, 16)}@db.internal:5432/app` },
    { rule: 'url-basic-auth', example: 'https://deploy:REDACTED@git.example.net/repo.git', real: `https://deploy:${rng.string(ALNUM, 16)}@git.example.net/repo.git` },
    { rule: 'generic-secret-assignment', example: 'API_KEY=your_api_key_here', real: `API_KEY=${rng.string(ALNUM, 12)}9x${rng.string(ALNUM, 12)}` },
    { rule: 'generic-secret-assignment', example: 'password: "********"', real: `password: "${rng.string(ALNUM, 10)}4a!${rng.string(ALNUM, 6)}"` },
    { rule: 'nuget-config-password', example: '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />', real: `<add key="ClearTextPassword" value="${rng.string(ALNUM, 20)}" />` },
    { rule: 'twitter-token', example: 'TWITTER_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxx', real: `TWITTER_API_KEY=${rng.string(ALNUM, 25)}` },
  ])('$rule: a documented example is no finding, a real-looking value of its shape is', ({ rule, example, real }) => {
    const rules = (text: string) => findCredentials(text).map((m) => m.rule)
    expect(rules(example)).not.toContain(rule)
    expect(rules(real)).toContain(rule)
  })
})
