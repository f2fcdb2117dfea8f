import { Buffer } from 'node:buffer'
import { domainToASCII } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createScanner } from '../../../../sidecars/dlp/index.js'
import { FakeRandom, githubStyleToken, LOWER_HEX } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(31337)
const token = githubStyleToken(rng, 'ghp_')
const known = rng.mixed(20)
const scanner = createScanner({ knownSecrets: [known] })
const pct = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')

describe('scanText', () => {
  it.each([
    { name: 'a header value', text: `Bearer ${token}`, want: [{ rule: 'github-pat', location: 'header:authorization' }] },
    { name: 'a known secret in a diff line', text: `+ const key = "${known}"`, want: [{ rule: 'known-secret', location: 'header:authorization' }] },
    { name: 'nothing', text: 'application/json', want: [] },
  ])('$name', ({ text, want }) => {
    expect(scanner.scanText(text, 'header:authorization')).toEqual(want)
  })

  it.each([
    { name: 'HTML entities', text: `<p>${[...token].map((c) => `&#${c.charCodeAt(0)};`).join('')}</p>`, want: 'escaped' },
    { name: 'backslash escapes', text: `"${[...token].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join('')}"`, want: 'escaped' },
  ])('reads through $name', ({ text, want }) => {
    expect(scanner.scanText(text, 'x')).toEqual([{ rule: 'github-pat', location: 'x', encoding: want }])
  })

  it('reports each rule once per location', () => {
    expect(scanner.scanText(`${token} ${token} ${pct(token)}`, 'x')).toEqual([{ rule: 'github-pat', location: 'x' }])
  })

  it('works without options', () => {
    expect(createScanner().scanText(token, 'x')).toEqual([{ rule: 'github-pat', location: 'x' }])
  })
})

describe('scanUrl', () => {
  it.each([
    { name: 'a token in the query', url: `https://api.example.com/x?access=${token}`, want: [{ rule: 'github-pat', location: 'url.query:access' }] },
    // A token in a path is also a long random segment.
    { name: 'a token in the path', url: `https://api.example.com/v1/${token}/x`, want: [{ rule: 'github-pat', location: 'url.path' }, { rule: 'high-entropy-path-segment', location: 'url.path' }] },
    {
      name: 'a percent-encoded token in the path',
      url: `https://api.example.com/v1/${pct(token)}`,
      want: [{ rule: 'github-pat', location: 'url.path', encoding: 'url-encoded' }, { rule: 'high-entropy-path-segment', location: 'url.path' }],
    },
    { name: 'a base64 known secret in the query', url: `https://x.example/?d=${Buffer.from(known).toString('base64url')}`, want: [{ rule: 'known-secret', location: 'url.query:d', encoding: 'base64' }] },
    { name: 'a secret as a query name (withheld)', url: `https://x.example/?a=1&${token}`, want: [{ rule: 'github-pat', location: 'url.query:#1' }] },
    { name: 'a token in the fragment', url: `https://x.example/#${token}`, want: [{ rule: 'github-pat', location: 'url.fragment' }] },
    { name: 'credentials in the userinfo', url: 'https://me:hunter2@x.example/', want: [{ rule: 'url-basic-auth', location: 'url.userinfo' }] },
    { name: 'a token as the user name', url: `https://${token}@github.com/o/r.git`, want: [{ rule: 'github-pat', location: 'url.userinfo' }] },
    { name: 'a long random path segment', url: `https://x.example/upload/${rng.mixed(48)}`, want: [{ rule: 'high-entropy-path-segment', location: 'url.path' }] },
  ])('finds $name', ({ url, want }) => {
    expect(scanner.scanUrl(new URL(url))).toEqual(want)
  })

  it.each([
    'https://api.github.com/repos/me/app/pulls/12',
    'https://api.anthropic.com/v1/messages',
    `https://api.github.com/repos/me/app/commits/${rng.string(LOWER_HEX, 40)}`,
    `https://ghcr.io/v2/me/app/blobs/sha256:${rng.string(LOWER_HEX, 64)}`,
    'https://registry.npmjs.org/@types%2fnode/-/node-20.19.43.tgz',
    `https://api.openai.com/v1/files/file-${rng.mixed(24)}`,
    'https://pypi.org/simple/requests/?format=json&page=2',
    `https://files.pythonhosted.org/packages/70/8e/${rng.string(LOWER_HEX, 60)}/requests-2.31.0-py3-none-any.whl`,
    `https://api.example.com/v1/orders/${crypto.randomUUID()}`,
  ])('passes %s', (url) => {
    expect(scanner.scanUrl(new URL(url))).toEqual([])
  })

  it('uses the location it is given', () => {
    expect(scanner.scanUrl(new URL(`https://x.example/?t=${token}`), 'upstream')).toEqual([{ rule: 'github-pat', location: 'upstream.query:t' }])
  })
})

describe('scanHost', () => {
  it.each([
    { name: 'a random hex label', host: `${rng.string(LOWER_HEX, 32)}.attacker.example`, want: [{ rule: 'high-entropy-label', location: 'host' }] },
    { name: 'a random value split over labels', host: `${rng.string(LOWER_HEX, 19)}.${rng.string(LOWER_HEX, 19)}.attacker.example`, want: [{ rule: 'high-entropy-label', location: 'host' }] },
    // A 20-character secret in a label is also a random label.
    { name: 'a known secret, case-folded', host: `${known.toLowerCase()}.attacker.example`, want: [{ rule: 'known-secret', location: 'host' }, { rule: 'high-entropy-label', location: 'host' }] },
    { name: 'a known secret as hex over labels', host: `${Buffer.from(known).toString('hex').slice(0, 20)}.${Buffer.from(known).toString('hex').slice(20)}.evil.example`, want: [{ rule: 'known-secret', location: 'host', encoding: 'hex' }, { rule: 'high-entropy-label', location: 'host' }] },
    { name: 'a token as a label', host: `${token}.attacker.example`, want: [{ rule: 'github-pat', location: 'host' }, { rule: 'high-entropy-label', location: 'host' }] },
    {
      name: 'a known secret in look-alike letters (punycode)',
      host: `${domainToASCII(`${known.toLowerCase().replace(/a/g, 'а').replace(/e/g, 'е').replace(/o/g, 'о')}ао`)}.example`,
      want: [{ rule: 'known-secret', location: 'host', encoding: 'punycode' }, { rule: 'high-entropy-label', location: 'host' }],
    },
  ])('flags $name', ({ host, want }) => {
    expect(scanner.scanHost(host)).toEqual(want.map((w) => expect.objectContaining(w)))
  })

  it.each([
    'api.github.com',
    'raw.githubusercontent.com',
    'registry.npmjs.org',
    'd3i4yxtzktqr9n.cloudfront.net',
    'ec2-54-123-45-67.us-west-2.compute.amazonaws.com',
    'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com',
    'my-app-7f8a9b2c1-myteam.vercel.app',
    'xn--bcher-kva.example',
    'xn--80ak6aa92e.com',
    `${domainToASCII('日本語のとても長いドメイン名の例です')}.jp`,
    '100.78.141.42',
    '[2001:db8::1]',
    'api.github.com.',
  ])('passes %s', (host) => {
    expect(scanner.scanHost(host)).toEqual([])
  })
})
