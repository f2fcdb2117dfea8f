import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { busyboxNcHelper } from '../../../../../controller/runtime/vm/guest-network.js'
import { QemuVm, type VmSpec } from '../../../../../controller/runtime/vm/qemu-process.js'

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

  it('fails at once with its exit code and its last words', async () => {
    const spec = await fakeQemu(`echo "qemu: warming up" >&2\necho "qemu: -drive id=root: Could not open '/k/root.erofs'" >&2\nexit 1`)
    const started = Date.now()
    await expect(QemuVm.launch(join(dir, 'vm'), spec)).rejects.toThrow(/^QEMU did not start \(exit 1\): qemu: warming up \/ qemu: -drive id=root: Could not open/)
    // Not the QMP wait's 60 s.
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('gives QEMU none of the controller environment', async () => {
    process.env.BOTTLE_TEST_CONTROLLER_SECRET = 'sk-controller-only'
    const spec = await fakeQemu('env | grep -c BOTTLE_TEST_CONTROLLER_SECRET >&2\necho "PATH is set: ${PATH:+yes}" >&2\nexit 3')
    await expect(QemuVm.launch(join(dir, 'vm'), spec)).rejects.toThrow('QEMU did not start (exit 3): 0 / PATH is set: yes')
  })

  it('keeps only the start of what QEMU says', async () => {
    // 1 MiB of output, then the exit: the message is built from the first 16 KiB at most.
    const spec = await fakeQemu('i=0; while [ $i -lt 16384 ]; do echo "qemu: line $i of a flood padded to sixty-four bytes......" >&2; i=$((i+1)); done; exit 2')
    let message = ''
    try {
      await QemuVm.launch(join(dir, 'vm'), spec)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/^QEMU did not start \(exit 2\): /)
    const lastLine = Number(/line (\d+) of a flood[^/]*$/.exec(message)?.[1])
    expect(lastLine).toBeLessThan(300)
  })

  it('names a QEMU that cannot be run', async () => {
    const spec = { ...(await fakeQemu('exit 0')), qemu: join(dir, 'no-such-qemu') }
    await expect(QemuVm.launch(join(dir, 'vm'), spec)).rejects.toThrow(/QEMU did not start \(spawn .*no-such-qemu ENOENT\)/)
  })
})
