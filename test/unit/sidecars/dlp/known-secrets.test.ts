import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { compileKnownSecrets, MIN_KNOWN_SECRET_LENGTH } from '../../../../sidecars/dlp/known-secrets.js'
import { FakeRandom } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(7)
const secret = `${rng.mixed(20)}/+x`
const known = compileKnownSecrets([secret])
const found = (text: string) => known.find(text).map((h) => h.encoding ?? 'plain')

describe('known secrets', () => {
  it.each([
    { name: 'as is', text: `Authorization: Bearer ${secret}`, want: 'plain' },
    { name: 'lower-case hex', text: `x=${Buffer.from(secret).toString('hex')}`, want: 'hex' },
    { name: 'upper-case hex', text: Buffer.from(secret).toString('hex').toUpperCase(), want: 'hex' },
    { name: 'base64', text: Buffer.from(secret).toString('base64'), want: 'base64' },
    { name: 'base64url', text: Buffer.from(secret).toString('base64url'), want: 'base64' },
    { name: 'base64 at alignment 1', text: Buffer.from(`a${secret}zz`).toString('base64'), want: 'base64' },
    { name: 'base64 at alignment 2', text: Buffer.from(`ab${secret}z`).toString('base64'), want: 'base64' },
    { name: 'base64url at alignment 1 inside a longer value', text: Buffer.from(`{"k":"${secret}"}`).toString('base64url'), want: 'base64' },
  ])('are found $name', ({ text, want }) => {
    expect(found(text)).toContain(want)
  })

  it('reports the offset of the match', () => {
    const text = `prefix ${secret}`
    expect(known.find(text)[0]?.index).toBe(7)
  })

  it.each([
    { name: 'a different value', text: rng.mixed(24) },
    { name: 'a prefix of the value', text: secret.slice(0, -1) },
    { name: 'empty text', text: '' },
  ])('are not found in $name', ({ text }) => {
    expect(found(text)).toEqual([])
  })

  it(`ignores values shorter than ${MIN_KNOWN_SECRET_LENGTH} characters`, () => {
    const short = compileKnownSecrets(['abc', '1234567', ''])
    expect(short.size).toBe(0)
    expect(short.find('abc 1234567 YWJj')).toEqual([])
  })

  it('keeps values of exactly the minimum length', () => {
    const eight = compileKnownSecrets(['k9#Lm2$Q'])
    expect(eight.find(`x${Buffer.from('k9#Lm2$Q').toString('base64')}`).length).toBeGreaterThan(0)
  })

  const hostSecret = rng.mixed(20)
  const hex = Buffer.from(hostSecret).toString('hex')
  it.each([
    { name: 'lower-cased', host: `${hostSecret.toLowerCase()}.evil.example` },
    { name: 'split over labels', host: `${hostSecret.slice(0, 9)}.${hostSecret.slice(9)}.evil.example` },
    { name: 'as hex split over labels', host: `${hex.slice(0, 30)}.${hex.slice(30)}.evil.example`, encoding: 'hex' },
  ])('are found in a hostname $name', ({ host, encoding }) => {
    expect(compileKnownSecrets([hostSecret]).findInHostname(host)).toEqual({ encoding })
  })

  it('are not found in an unrelated hostname', () => {
    expect(known.findInHostname('api.github.com')).toBeUndefined()
  })
})
