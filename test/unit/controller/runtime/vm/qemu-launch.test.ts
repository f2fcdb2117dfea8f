import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { busyboxNcHelper } from '../../../../../controller/runtime/vm/guest-network.js'
import { QemuVm, vmLayout, type VmSpec } from '../../../../../controller/runtime/vm/qemu-process.js'

describe('QemuVm.launch with a QEMU that does not start', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bottle-qemu-launch-'))
  })

  afterEach(async () => {
    delete process.env.BOTTLE_TEST_CONTROLLER_SECRET
    await rm(dir, { recursive: true, force: true })
  })

  async function fakeQemu(script: string): Promise<VmSpec> {
    const qemu = join(dir, 'qemu')
    await writeFile(qemu, `#!/bin/sh\n${script}\n`)
    await chmod(qemu, 0o755)
    return {
      qemu,
      accelerator: 'tcg',
      kernel: '/k/vmlinuz',
      initramfs: '/k/initrd.cpio',
      rootfs: '/k/root.erofs',
      forwards: [],
      forwardHelper: busyboxNcHelper('/usr/bin/busybox'),
    }
  }

  it('fails at once with its exit code and its last words, kept in qemu.log', async () => {
    const spec = await fakeQemu(`echo "qemu: warming up"\necho "qemu: -drive id=root: Could not open '/k/root.erofs'" >&2\nexit 1`)
    const started = Date.now()
    await expect(QemuVm.launch(join(dir, 'vm'), spec)).rejects.toThrow(/^QEMU did not start \(exit 1\): qemu: warming up \/ qemu: -drive id=root: Could not open/)
    // Not the QMP wait's 60 s.
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(await readFile(vmLayout(join(dir, 'vm')).qemuLog, 'utf8')).toContain('Could not open')
  })

  it('gives QEMU none of the controller environment', async () => {
    process.env.BOTTLE_TEST_CONTROLLER_SECRET = 'sk-controller-only'
    const spec = await fakeQemu('env | grep -c BOTTLE_TEST_CONTROLLER_SECRET\necho "PATH is set: ${PATH:+yes}"\nexit 3')
    await expect(QemuVm.launch(join(dir, 'vm'), spec)).rejects.toThrow('QEMU did not start (exit 3): 0 / PATH is set: yes')
  })

  it('names a QEMU that cannot be run', async () => {
    const spec = { ...(await fakeQemu('exit 0')), qemu: join(dir, 'no-such-qemu') }
    await expect(QemuVm.launch(join(dir, 'vm'), spec)).rejects.toThrow(/QEMU did not start \(spawn .*no-such-qemu ENOENT\)/)
  })
})
