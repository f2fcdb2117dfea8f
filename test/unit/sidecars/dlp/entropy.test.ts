import { describe, expect, it } from 'vitest'
import {
  hasHighEntropySplitLabels,
  isHighEntropyLabel,
  isHighEntropyPathSegment,
  isRandomLooking,
  shannonEntropy,
} from '../../../../sidecars/dlp/entropy.js'
import { ALNUM, BASE64URL, FakeRandom, LOWER_HEX } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(42)
const BASE32_LOWER = 'abcdefghijklmnopqrstuvwxyz234567'
const BASE36 = 'abcdefghijklmnopqrstuvwxyz0123456789'

describe('shannonEntropy', () => {
  it.each([
    { input: '', want: 0 },
    { input: 'aaaa', want: 0 },
    { input: 'abab', want: 1 },
    { input: 'abcd', want: 2 },
    { input: '0123456789abcdef', want: 4 },
  ])('$input has $want bits per character', ({ input, want }) => {
    expect(shannonEntropy(input)).toBeCloseTo(want, 10)
  })
})

describe('isRandomLooking', () => {
  it.each([
    { name: 'random hex', token: rng.string(LOWER_HEX, 32), want: true },
    { name: 'random mixed-case', token: rng.mixed(32), want: true },
    { name: 'too short', token: rng.mixed(10), want: false },
    { name: 'letters only', token: 'Supercalifragilisticexpialidocious', want: false },
    { name: 'digits only', token: '12345678901234567890123', want: false },
    { name: 'a date stamp', token: 'build20240101release', want: false },
    { name: 'repeated pattern', token: 'abab1212abab1212abab', want: false },
  ])('$name', ({ token, want }) => {
    expect(isRandomLooking(token, 20)).toBe(want)
  })
})

describe('isHighEntropyLabel', () => {
  it.each([
    { name: '32 hex characters', label: rng.string(LOWER_HEX, 32) },
    { name: '26 base32 characters', label: rng.string(BASE32_LOWER, 26) },
    { name: '24 base36 characters', label: rng.string(BASE36, 24) },
    { name: '40 base36 characters behind a word', label: `x-${rng.string(BASE36, 40)}` },
    { name: 'the maximum label length', label: rng.string(BASE36, 63) },
  ])('flags $name', ({ label }) => {
    expect(isHighEntropyLabel(label)).toBe(true)
  })

  it.each([
    ...'api.github.com raw.githubusercontent.com registry.npmjs.org objects.githubusercontent.com'.split(/[ .]/),
    // Judgement calls: CDN, cloud and preview names below 20 random characters pass.
    'd3i4yxtzktqr9n', // CloudFront distribution
    'ec2-54-123-45-67', // EC2 public DNS
    'a1b2c3d4e5', // API Gateway id
    'my-app-7f8a9b2c1-myteam', // Vercel preview
    'xn--bcher-kva', // punycode
    'staging20240101release',
    'us-central1-docker',
    '1e100',
  ])('passes %s', (label) => {
    expect(isHighEntropyLabel(label)).toBe(false)
  })
})

describe('hasHighEntropySplitLabels', () => {
  const hex = rng.string(LOWER_HEX, 38)
  it.each([
    { name: 'a hex value split over two labels', labels: [hex.slice(0, 19), hex.slice(19), 'attacker', 'com'], want: true },
    { name: 'a CloudFront name', labels: ['d3i4yxtzktqr9n', 'cloudfront', 'net'], want: false },
    { name: 'an API Gateway name', labels: ['a1b2c3d4e5', 'execute-api', 'us-east-1', 'amazonaws', 'com'], want: false },
    { name: 'short labels', labels: ['a1b2', 'c3d4', 'e5f6', 'example', 'com'], want: false },
  ])('$name', ({ labels, want }) => {
    expect(hasHighEntropySplitLabels(labels)).toBe(want)
  })
})

describe('isHighEntropyPathSegment', () => {
  it.each([
    { name: 'a 48-character token', segment: rng.mixed(48) },
    { name: 'a 43-character base64url token', segment: `${rng.string(BASE64URL, 20)}-${rng.mixed(22)}` },
    { name: 'a 32-character base32 value (a Nix store hash)', segment: rng.string('0123456789abcdfghijklmnpqrsvwxyz', 32) },
    { name: 'a token behind a type prefix', segment: `tok_${rng.mixed(40)}` },
    { name: 'a token with a file extension', segment: `${rng.mixed(36)}.json` },
  ])('flags $name', ({ segment }) => {
    expect(isHighEntropyPathSegment(segment)).toBe(true)
  })

  it.each([
    { name: 'a resource name', segment: 'pulls' },
    { name: 'a number', segment: '12' },
    { name: 'an API version', segment: 'v1' },
    { name: 'a git commit sha (exempt: git hosting APIs)', segment: rng.string(LOWER_HEX, 40) },
    { name: 'a sha256 digest (exempt: OCI registries)', segment: `sha256:${rng.string(LOWER_HEX, 64)}` },
    { name: 'a 60-character hex directory (exempt: PyPI file paths)', segment: rng.string(LOWER_HEX, 60) },
    { name: 'a 32-character hex value (exempt: content addresses)', segment: rng.string(LOWER_HEX, 32) },
    { name: 'a UUID', segment: crypto.randomUUID() },
    { name: 'an Anthropic batch id', segment: `msgbatch_01${rng.string(ALNUM, 22)}` },
    { name: 'a Stripe object id', segment: `pi_3${rng.string(ALNUM, 23)}` },
    { name: 'a slug', segment: 'how-to-use-the-thing-2024-edition-v2' },
    { name: 'a tarball', segment: 'lodash-4.17.21.tgz' },
    { name: 'a long word', segment: 'Supercalifragilisticexpialidocious' },
  ])('passes $name', ({ segment }) => {
    expect(isHighEntropyPathSegment(segment)).toBe(false)
  })
})
