import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addressFileHelper, bundleForwardScript, userNetdev } from '../../../../../controller/runtime/vm/guest-network.js'

/**
 * The host side of a VM's bundle port: the script QEMU runs per guest
 * connection. A stand-in busybox prints what it was asked to dial, so the
 * test sees exactly where a connection would go.
 */
describe('the bundle forward script', () => {
  let dir: string
  let script: string
  let addressFile: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bottle-fwd-'))
    const busybox = join(dir, 'busybox')
    writeFileSync(busybox, '#!/bin/sh\necho "dial $*"\n')
    chmodSync(busybox, 0o755)
    addressFile = join(dir, 'bundle-address')
    script = join(dir, 'forward')
    writeFileSync(script, bundleForwardScript(busybox, addressFile))
    chmodSync(script, 0o700)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const connect = (port: string) => execa(script, [port], { reject: false, env: {}, extendEnv: false })

  it('dials the address in the file at the port QEMU names', async () => {
    writeFileSync(addressFile, '172.19.0.3')
    expect((await connect('8888')).stdout).toBe('dial nc 172.19.0.3 8888')
  })

  it('reads the file at every connection, so a new bundle address needs no new VM', async () => {
    writeFileSync(addressFile, '172.19.0.9')
    expect((await connect('9420')).stdout).toBe('dial nc 172.19.0.9 9420')
  })

  it('goes nowhere when the file is missing, empty or not an address', async () => {
    for (const content of [undefined, '', '172.19.0.3; touch /tmp/x', 'egress', '$(id)']) {
      if (content === undefined) rmSync(addressFile, { force: true })
      else writeFileSync(addressFile, content)
      const result = await connect('8888')
      expect(result.exitCode).toBe(1)
      expect(result.stdout).toBe('')
    }
  })

  it('refuses a port that is not a number', async () => {
    writeFileSync(addressFile, '172.19.0.3')
    expect((await connect('8888 -e sh')).exitCode).toBe(1)
  })

  it('is named in the netdev with no address of its own', () => {
    const netdev = userNetdev('net0', [{ guestPort: 8888, hostPort: 8888 }], addressFileHelper(script))
    expect(netdev).toContain(`guestfwd=tcp:10.0.2.100:8888-cmd:${script} 8888`)
  })

  it('refuses paths a shell would read', () => {
    expect(() => bundleForwardScript('/bin/busybox', '/tmp/a b')).toThrow(/shell/)
  })
})
