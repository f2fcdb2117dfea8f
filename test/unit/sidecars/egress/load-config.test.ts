import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mintCertificateAuthority } from '../../../../sidecars/egress/certificates.js'
import { loadEgressFolder } from '../../../../sidecars/egress/load-config.js'

const ca = mintCertificateAuthority({ commonName: 'load test CA' })
const SECRET = 'ghp_loadtestsecretvalue0123456789abcdef'
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bottle-egress-load-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function folder(files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
}

const route = { host: 'api.github.com', auth: { scheme: 'Bearer', slot: 'github' } }

describe('loadEgressFolder', () => {
  it('loads config, secrets and CA, and hashes config.json as written', async () => {
    const configText = JSON.stringify({ routes: [route] })
    await folder({ 'config.json': configText, 'secrets.json': JSON.stringify({ github: SECRET }), 'ca.crt': ca.certPem, 'ca.key': ca.keyPem })
    const got = await loadEgressFolder(dir)
    expect(got.ok).toBe(true)
    if (!got.ok) return
    expect(got.files.configHash).toBe(`sha256:${createHash('sha256').update(configText).digest('hex')}`)
    expect(got.files.secrets.get('github')).toBe(SECRET)
    expect(got.files.ca?.certPem).toBe(ca.certPem)
  })

  it('needs no CA when every route passes through', async () => {
    await folder({ 'config.json': JSON.stringify({ routes: [{ host: 'a.example.com', tls: 'passthrough' }] }) })
    expect((await loadEgressFolder(dir)).ok).toBe(true)
  })

  const failures: Array<{ name: string; files: Record<string, string>; want: string }> = [
    { name: 'no config.json', files: {}, want: 'config.json: missing in' },
    { name: 'invalid config', files: { 'config.json': '{"routes":[{"host":""}]}' }, want: 'routes[0].host: Too small' },
    {
      name: 'a route naming a missing slot',
      files: { 'config.json': JSON.stringify({ routes: [route] }), 'secrets.json': '{}', 'ca.crt': ca.certPem, 'ca.key': ca.keyPem },
      want: 'routes[0].auth.slot: github is not in secrets.json',
    },
    { name: 'interception without a CA', files: { 'config.json': JSON.stringify({ routes: [{ host: 'a.example.com' }] }) }, want: 'routes[0]: interception needs ca.crt and ca.key in the config folder' },
    { name: 'a CA certificate without its key', files: { 'config.json': '{}', 'ca.crt': ca.certPem }, want: 'ca.crt and ca.key must be present together' },
    { name: 'unparseable secrets', files: { 'config.json': '{}', 'secrets.json': `{"github": "${SECRET}"` }, want: 'secrets.json: invalid JSON' },
  ]
  it.each(failures)('rejects $name with one line naming the cause', async ({ files, want }) => {
    await folder(files)
    const got = await loadEgressFolder(dir)
    expect(got.ok).toBe(false)
    if (got.ok) return
    expect(got.error).toContain(want)
    expect(got.error).not.toContain(SECRET)
    expect(got.error).not.toMatch(/\n/)
  })

  it('changes the fingerprint when only a secret changes, not the config hash', async () => {
    await folder({ 'config.json': JSON.stringify({ routes: [route] }), 'secrets.json': JSON.stringify({ github: SECRET }), 'ca.crt': ca.certPem, 'ca.key': ca.keyPem })
    const first = await loadEgressFolder(dir)
    await folder({ 'secrets.json': JSON.stringify({ github: `${SECRET}x` }) })
    const second = await loadEgressFolder(dir)
    if (!first.ok || !second.ok) throw new Error('expected both loads to succeed')
    expect(second.files.configHash).toBe(first.files.configHash)
    expect(second.files.fingerprint).not.toBe(first.files.fingerprint)
  })
})
