import { readdir, stat } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadEgressFolder } from '../../../../sidecars/egress/load-config.js'
import { writeFileAtomic } from '../../../../sidecars/shared/atomic-write.js'
import { configDigest, EGRESS_CONFIG_PATH, formatAppliedState, parseAppliedState, type EgressAppliedState } from '../../../../sidecars/shared/bundle-contract.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

const REPORT: EgressAppliedState = {
  appliedAt: '2025-01-01T00:00:00.000Z',
  configHash: 'sha256:abc',
  routes: [{ host: 'api.github.com', tls: 'intercept', paths: ['/repos/'], auth: { scheme: 'Bearer', slot: 'env.GH_TOKEN' } }],
  attemptedAt: '2025-01-01T00:00:00.000Z',
  attemptedConfigHash: 'sha256:abc',
}

describe('the bundle contract', () => {
  let folder: TempFolder
  beforeEach(async () => {
    folder = await TempFolder.create('bottle-contract-')
  })
  afterEach(async () => {
    await folder.dispose()
  })

  it('names a config by the same digest on both sides: what the controller wrote is what egress reports', async () => {
    const text = `${JSON.stringify({ version: 1, routes: [{ host: 'example.com', tls: 'passthrough' }] }, null, 2)}\n`
    await writeFileAtomic(folder.join(EGRESS_CONFIG_PATH), text, 0o600)
    const loaded = await loadEgressFolder(folder.join('sidecars/egress'))
    expect(loaded.ok && loaded.files.configHash).toBe(configDigest(text))
    expect(configDigest(text)).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('reads back the report it writes', () => {
    expect(parseAppliedState(formatAppliedState(REPORT))).toEqual(REPORT)
    expect(parseAppliedState(formatAppliedState({ ...REPORT, error: 'routes[0]: bad' }))?.error).toBe('routes[0]: bad')
  })

  const notReports = [
    { name: 'not JSON', text: '{"appliedAt":' },
    { name: 'a route without a host', text: JSON.stringify({ ...REPORT, routes: [{ tls: 'intercept' }] }) },
    { name: 'an unknown TLS mode', text: JSON.stringify({ ...REPORT, routes: [{ host: 'a.test', tls: 'sniff' }] }) },
    { name: 'no attempt recorded', text: JSON.stringify({ ...REPORT, attemptedAt: undefined }) },
    { name: 'a list instead of an object', text: '[]' },
  ]
  it.each(notReports)('reads $name as no report', ({ text }) => {
    expect(parseAppliedState(text)).toBeUndefined()
  })

  it('writes atomically with the mode from the start, leaving no temporary files', async () => {
    const path = folder.join('state/secrets.json')
    await Promise.all([writeFileAtomic(path, 'one', 0o600), writeFileAtomic(path, 'two', 0o600)])
    expect(['one', 'two']).toContain(await folder.read('state/secrets.json'))
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await readdir(folder.join('state'))).toEqual(['secrets.json'])
  })
})
