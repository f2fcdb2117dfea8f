import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  FileLoopbackAddressBook,
  freeLoopbackAddress,
  loopbackAddressPresent,
  missingLoopbackAliasReason,
} from '../../../../controller/runtime/loopback-addresses.js'
import { smolvmBundleReach } from '../../../../controller/runtime/smolvm/bundle-reach.js'

const dir = mkdtempSync(join(tmpdir(), 'loopback-book-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newFile = (): string => join(dir, `book-${++files}.json`)

describe('freeLoopbackAddress', () => {
  it('the lowest address from 127.0.0.16 no one holds; none when the range is full', () => {
    expect(freeLoopbackAddress([])).toBe('127.0.0.16')
    expect(freeLoopbackAddress(['127.0.0.16', '127.0.0.18'])).toBe('127.0.0.17')
    const all = Array.from({ length: 254 - 16 + 1 }, (_, i) => `127.0.0.${16 + i}`)
    expect(freeLoopbackAddress(all)).toBeUndefined()
  })
})

describe('FileLoopbackAddressBook', () => {
  it('distinct between Agents, and stable for a new book on the same file (a restarted controller)', async () => {
    const file = newFile()
    const first = new FileLoopbackAddressBook({ file, instance: 'default' })
    const a = await first.addressFor('alpha')
    const b = await first.addressFor('beta')
    expect([a, b]).toEqual(['127.0.0.16', '127.0.0.17'])
    expect(await first.addressFor('alpha')).toBe(a)
    const second = new FileLoopbackAddressBook({ file, instance: 'default' })
    // Asked in the other order: the recorded addresses, not a new allocation.
    expect(await second.addressFor('beta')).toBe(b)
    expect(await second.addressFor('alpha')).toBe(a)
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('concurrent first asks in one process still get distinct addresses', async () => {
    const book = new FileLoopbackAddressBook({ file: newFile(), instance: 'default' })
    const got = await Promise.all(['a', 'b', 'c', 'd'].map((agent) => book.addressFor(agent)))
    expect(new Set(got).size).toBe(4)
  })

  it('another instance on the same file gets other addresses for the same Agent name', async () => {
    const file = newFile()
    const one = await new FileLoopbackAddressBook({ file, instance: 'default' }).addressFor('dev')
    const other = await new FileLoopbackAddressBook({ file, instance: 'ci' }).addressFor('dev')
    expect(other).not.toBe(one)
  })

  it('a removed Agent gives its address back', async () => {
    const book = new FileLoopbackAddressBook({ file: newFile(), instance: 'default' })
    const a = await book.addressFor('alpha')
    await book.addressFor('beta')
    await book.release('alpha')
    expect(await book.addressFor('gamma')).toBe(a)
  })
})

describe('loopbackAddressPresent', () => {
  const lo = (...addresses: string[]) => ({ lo0: addresses.map((address) => ({ address, family: 'IPv4' as const, netmask: '255.0.0.0', mac: '00:00:00:00:00:00', internal: true, cidr: `${address}/8` })) })

  it('macOS: only the addresses lo0 carries', () => {
    expect(loopbackAddressPresent('127.0.0.16', 'darwin', lo('127.0.0.1'))).toBe(false)
    expect(loopbackAddressPresent('127.0.0.16', 'darwin', lo('127.0.0.1', '127.0.0.16'))).toBe(true)
  })

  it('Linux: all of 127/8 is local', () => {
    expect(loopbackAddressPresent('127.0.0.16', 'linux', lo('127.0.0.1'))).toBe(true)
  })

  it('not a loopback address: not this check\'s business', () => {
    expect(loopbackAddressPresent('172.18.0.2', 'darwin', lo('127.0.0.1'))).toBe(true)
  })

  it('the reason is one line naming the command to run', () => {
    const reason = missingLoopbackAliasReason('127.0.0.16')
    expect(reason).not.toContain('\n')
    expect(reason).toContain('sudo ifconfig lo0 alias 127.0.0.16')
  })
})

describe('smolvmBundleReach', () => {
  it('loopback on macOS, the bridge address elsewhere, unless configured', () => {
    expect(smolvmBundleReach('darwin', {})).toEqual({ reach: 'loopback' })
    expect(smolvmBundleReach('linux', {})).toEqual({ reach: 'bridge' })
    expect(smolvmBundleReach('linux', { BOTTLE_SMOLVM_BUNDLE_REACH: 'loopback' })).toEqual({ reach: 'loopback' })
    expect(smolvmBundleReach('darwin', { BOTTLE_SMOLVM_BUNDLE_REACH: 'bridge' })).toEqual({ reach: 'bridge' })
    // A bad value is the smolvm runtime's problem only, said in one line.
    expect(smolvmBundleReach('linux', { BOTTLE_SMOLVM_BUNDLE_REACH: 'tunnel' })).toEqual({ problem: 'BOTTLE_SMOLVM_BUNDLE_REACH must be "loopback" or "bridge", not "tunnel"' })
  })
})
