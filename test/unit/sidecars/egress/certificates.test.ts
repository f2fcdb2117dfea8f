import { createPrivateKey, X509Certificate } from 'node:crypto'
import forge from 'node-forge'
import { describe, expect, it } from 'vitest'
import { createLeafCertificates, mintCertificateAuthority } from '../../../../sidecars/egress/certificates.js'

const ca = mintCertificateAuthority({ commonName: 'bottle test agent CA' })
const caCert = new X509Certificate(ca.certPem)
const leaves = createLeafCertificates({ ca })

describe('mintCertificateAuthority', () => {
  it('mints a CA that may sign leaves only', () => {
    expect(caCert.ca).toBe(true)
    expect(caCert.subject).toContain('CN=bottle test agent CA')
    expect(caCert.checkIssued(caCert)).toBe(true)
    expect(caCert.verify(caCert.publicKey)).toBe(true)
    const parsed = forge.pki.certificateFromPem(ca.certPem)
    expect(parsed.getExtension('basicConstraints')).toMatchObject({ cA: true, pathLenConstraint: 0, critical: true })
    expect(parsed.getExtension('keyUsage')).toMatchObject({ keyCertSign: true, cRLSign: true, digitalSignature: false, critical: true })
  })

  it('returns a private key matching the certificate', () => {
    expect(caCert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true)
  })

  it('honours validityDays', () => {
    const now = new Date('2030-01-01T00:00:00Z')
    const short = new X509Certificate(mintCertificateAuthority({ commonName: 'x', validityDays: 10, now }).certPem)
    expect(new Date(short.validTo).toISOString()).toBe('2030-01-11T00:00:00.000Z')
  })
})

describe('createLeafCertificates', () => {
  const hosts: Array<[string, string]> = [
    ['api.github.com', 'DNS:api.github.com'],
    ['203.0.113.7', 'IP Address:203.0.113.7'],
    ['2001:db8::7', 'IP Address:2001:DB8:0:0:0:0:0:7'],
  ]
  it.each(hosts)('signs a leaf for %s with SAN %s', (host, san) => {
    const leaf = new X509Certificate(leaves.certificateFor(host).certPem)
    expect(leaf.subjectAltName).toBe(san)
    expect(leaf.ca).toBe(false)
    expect(leaf.checkIssued(caCert)).toBe(true)
    expect(leaf.verify(caCert.publicKey)).toBe(true)
    const parsed = forge.pki.certificateFromPem(leaves.certificateFor(host).certPem)
    expect(parsed.getExtension('extKeyUsage')).toMatchObject({ serverAuth: true })
  })

  it('caches leaves per host', () => {
    const first = leaves.certificateFor('cache.example.com')
    expect(leaves.certificateFor('cache.example.com')).toBe(first)
    expect(leaves.secureContextFor('cache.example.com')).toBe(leaves.secureContextFor('cache.example.com'))
  })

  it('evicts the least recently used host past maxEntries', () => {
    const small = createLeafCertificates({ ca, maxEntries: 2 })
    const a = small.certificateFor('a.example.com')
    small.certificateFor('b.example.com')
    small.certificateFor('a.example.com')
    small.certificateFor('c.example.com')
    expect(small.size).toBe(2)
    expect(small.certificateFor('a.example.com')).toBe(a)
  })

  it('renews a leaf that is about to expire', () => {
    let now = new Date('2030-01-01T00:00:00Z')
    const clocked = createLeafCertificates({ ca: mintCertificateAuthority({ commonName: 'c', now }), validityDays: 2, now: () => now })
    const first = clocked.certificateFor('renew.example.com')
    now = new Date(now.getTime() + 1.5 * 86_400_000)
    expect(clocked.certificateFor('renew.example.com')).not.toBe(first)
  })

  it('never outlives its CA', () => {
    const now = new Date()
    const shortCa = mintCertificateAuthority({ commonName: 'short', validityDays: 5, now })
    const leaf = createLeafCertificates({ ca: shortCa, validityDays: 30 }).certificateFor('x.example.com')
    expect(leaf.notAfter.getTime()).toBeLessThanOrEqual(new Date(new X509Certificate(shortCa.certPem).validTo).getTime())
  })

  const broken = [
    { name: 'a key from another CA', input: () => ({ certPem: ca.certPem, keyPem: mintCertificateAuthority({ commonName: 'other' }).keyPem }), want: /does not match/ },
    { name: 'garbage certificate', input: () => ({ certPem: 'nope', keyPem: ca.keyPem }), want: /./ },
    { name: 'garbage key', input: () => ({ certPem: ca.certPem, keyPem: 'nope' }), want: /./ },
  ]
  it.each(broken)('refuses $name at construction', ({ input, want }) => {
    expect(() => createLeafCertificates({ ca: input() })).toThrow(want)
  })
})
