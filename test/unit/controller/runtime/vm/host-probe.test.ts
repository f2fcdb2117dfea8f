import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { probeKvm } from '../../../../../controller/runtime/vm/host-probe.js'

// Fake QEMUs: the probe's verdict depends only on what the process prints and when.
const dir = mkdtempSync(join(tmpdir(), 'bottle-probe-'))
const device = join(dir, 'kvm')
writeFileSync(device, '')
const kernel = { kernel: join(dir, 'vmlinuz'), modulesDir: dir, version: 'test' }

function fakeQemu(name: string, body: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('probeKvm', () => {
  it('accepts KVM when the guest kernel prints its banner', async () => {
    const qemu = fakeQemu('boots', 'echo "[    0.000000] Linux version 6.1.0"; exec sleep 30')
    expect(await probeKvm(qemu, kernel, { kvmDevice: device, kvmTimeoutMs: 5_000 })).toBeUndefined()
  })

  it('gives up on a guest that stays silent, within the time box', async () => {
    const qemu = fakeQemu('hangs', 'exec sleep 30')
    const started = Date.now()
    expect(await probeKvm(qemu, kernel, { kvmDevice: device, kvmTimeoutMs: 400 })).toBe('a guest did not boot under KVM within 400 ms')
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it("reports QEMU's own complaint when it refuses KVM", async () => {
    const qemu = fakeQemu('refuses', 'echo "qemu-system-x86_64: failed to initialize kvm: Permission denied" >&2; exit 1')
    expect(await probeKvm(qemu, kernel, { kvmDevice: device })).toBe(
      'QEMU with KVM failed: qemu-system-x86_64: failed to initialize kvm: Permission denied',
    )
  })

  it('does not start QEMU when the device is missing', async () => {
    const qemu = fakeQemu('never', `touch ${join(dir, 'ran')}`)
    expect(await probeKvm(qemu, kernel, { kvmDevice: join(dir, 'nope') })).toMatch(/does not exist$/)
    expect(existsSync(join(dir, 'ran'))).toBe(false)
  })
})

describe('describeHost', () => {
  it('says in one line how vm boxes run, or why they cannot', async () => {
    const { describeHost } = await import('../../../../../controller/runtime/vm/host-probe.js')
    expect(describeHost({ usable: false, reason: 'qemu-system-x86_64 is not installed' })).toBe(
      'vm runtime unavailable: qemu-system-x86_64 is not installed',
    )
    expect(describeHost({ usable: true, qemu: 'q', kernel, accelerator: 'kvm' })).toBe('vm runtime: KVM')
    expect(describeHost({ usable: true, qemu: 'q', kernel, accelerator: 'tcg', kvmUnavailable: '/dev/kvm does not exist' })).toBe(
      'vm runtime: TCG emulation (slower; /dev/kvm does not exist)',
    )
  })
})
