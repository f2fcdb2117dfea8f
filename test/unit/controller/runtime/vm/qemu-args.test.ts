import { describe, expect, it } from 'vitest'
import { isStaticElf } from '../../../../../controller/runtime/vm/guest-assets.js'
import { BUNDLE_GUEST_ADDRESS, busyboxNcHelper, guestHostsFile, userNetdev } from '../../../../../controller/runtime/vm/guest-network.js'
import { kernelCommandLine, qemuArgs, incomingUri, vmLayout, type VmSpec } from '../../../../../controller/runtime/vm/qemu-process.js'

const helper = busyboxNcHelper('/usr/bin/busybox')

function spec(overrides: Partial<VmSpec> = {}): VmSpec {
  return {
    qemu: 'qemu-system-x86_64',
    accelerator: 'tcg',
    kernel: '/k/vmlinuz',
    initramfs: '/k/initrd.cpio',
    rootfs: '/k/root.erofs',
    forwards: [{ guestPort: 8888, host: '172.30.0.2', hostPort: 8888 }],
    forwardHelper: helper,
    ...overrides,
  }
}

/** The value following each occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? ''] : []))
}

describe('userNetdev', () => {
  it('restricts the guest to one guestfwd per bundle port, with no DNS or host access', () => {
    const netdev = userNetdev(
      'net0',
      [
        { guestPort: 8888, host: '172.30.0.2', hostPort: 8888 },
        { guestPort: 9420, host: '127.0.0.1', hostPort: 40001 },
      ],
      helper,
    )
    expect(netdev).toBe(
      'user,id=net0,restrict=on,ipv6=off,' +
        `guestfwd=tcp:${BUNDLE_GUEST_ADDRESS}:8888-cmd:/usr/bin/busybox nc 172.30.0.2 8888,` +
        `guestfwd=tcp:${BUNDLE_GUEST_ADDRESS}:9420-cmd:/usr/bin/busybox nc 127.0.0.1 40001`,
    )
    expect(netdev).not.toContain('hostfwd')
  })

  it('refuses what could inject options or shell words', () => {
    expect(() => userNetdev('n', [{ guestPort: 1, host: 'bundle.example', hostPort: 1 }], helper)).toThrow(/not an IP/)
    expect(() => userNetdev('n', [{ guestPort: 0, host: '10.0.0.1', hostPort: 1 }], helper)).toThrow(/not a TCP port/)
    expect(() => userNetdev('n', [{ guestPort: 1, host: '10.0.0.1', hostPort: 70000 }], helper)).toThrow(/not a TCP port/)
    const evil = (): string[] => ['nc', '10.0.0.1', '1;reboot']
    expect(() => userNetdev('n', [{ guestPort: 1, host: '10.0.0.1', hostPort: 1 }], evil)).toThrow(/not plain/)
    const comma = (): string[] => ['nc,hostfwd=tcp::22-:22']
    expect(() => userNetdev('n', [{ guestPort: 1, host: '10.0.0.1', hostPort: 1 }], comma)).toThrow(/not plain/)
    const twice = { guestPort: 5, host: '10.0.0.1', hostPort: 5 }
    expect(() => userNetdev('n', [twice, twice], helper)).toThrow(/twice/)
  })
})

describe('guestHostsFile', () => {
  it('names the bundle at its guest address', () => {
    expect(guestHostsFile('box', ['egress', 'git-gate', 'supervise'])).toBe(
      `127.0.0.1\tlocalhost\n10.0.2.15\tbox\n${BUNDLE_GUEST_ADDRESS}\tegress git-gate supervise\n`,
    )
    expect(() => guestHostsFile('box', ['a b'])).toThrow(/host name/)
  })
})

describe('qemuArgs', () => {
  const layout = vmLayout('/run/bottle/vm/a1')

  it('maps resources and keeps every control socket in the state folder', () => {
    const args = qemuArgs(spec({ cpus: 2, memoryMiB: 1024 }), layout)
    expect(values(args, '-smp')).toEqual(['2'])
    expect(values(args, '-m')).toEqual(['1024'])
    expect(values(args, '-pidfile')).toEqual(['/run/bottle/vm/a1/qemu.pid'])
    expect(values(args, '-qmp')).toEqual(['unix:/run/bottle/vm/a1/qmp.sock,server=on,wait=off'])
    expect(values(args, '-chardev')).toContain('socket,id=agent,path=/run/bottle/vm/a1/agent.sock,server=on,wait=off')
    expect(values(args, '-device')).toContain('virtserialport,chardev=agent,name=bottle.agent')
    // Started detached instead: daemonizing forks QEMU once it has loaded its libraries, which costs half its start.
    expect(args).not.toContain('-daemonize')
    expect(args).toContain('-nodefaults')
  })

  it('attaches the root read-only by serial and the other disks after it', () => {
    const args = qemuArgs(spec({ disks: [{ path: '/s/ws.img', readOnly: false, serial: 'workspace' }] }), layout)
    expect(values(args, '-drive')).toEqual([
      'id=root,file=/k/root.erofs,format=raw,if=none,read-only=on',
      'id=disk0,file=/s/ws.img,format=raw,if=none',
    ])
    expect(values(args, '-device')).toContain('virtio-blk-device,drive=disk0,serial=workspace')
    expect(() => qemuArgs(spec({ disks: [{ path: '/x', readOnly: true, serial: 'a,b' }] }), layout)).toThrow(/serial/)
  })

  it('doubles commas in paths so they cannot add options', () => {
    const args = qemuArgs(spec({ rootfs: '/k/a,b.erofs' }), layout)
    expect(values(args, '-drive')[0]).toBe('id=root,file=/k/a,,b.erofs,format=raw,if=none,read-only=on')
  })

  it('uses the host CPU under KVM and an emulated one under TCG', () => {
    expect(values(qemuArgs(spec({ accelerator: 'kvm' }), layout), '-cpu')).toEqual(['host'])
    expect(values(qemuArgs(spec(), layout), '-accel')).toEqual(['tcg,tb-size=64'])
  })

  it('boots with the kernel, and restores without one: a restored guest never boots again', () => {
    const booted = qemuArgs(spec(), layout)
    expect(values(booted, '-kernel')).toEqual(['/k/vmlinuz'])
    expect(values(booted, '-initrd')).toEqual(['/k/initrd.cpio'])
    expect(values(booted, '-append')).toEqual([kernelCommandLine(spec())])
    const restored = qemuArgs(spec({ incoming: '/s/snap.vmstate' }), layout)
    for (const flag of ['-kernel', '-initrd', '-append']) expect(values(restored, flag)).toEqual([])
    // What a guest that tries to boot again gets is an exit, not a boot without its kernel.
    expect(restored).toContain('-no-reboot')
  })

  it('restores from a snapshot only with a plain path, loaded once QMP has set the capabilities', () => {
    expect(values(qemuArgs(spec({ incoming: '/s/snap.bin' }), layout), '-incoming')).toEqual(['defer'])
    expect(incomingUri('/s/snap.bin')).toBe('exec:cat /s/snap.bin')
    expect(() => qemuArgs(spec({ incoming: '/s/x; rm -rf /' }), layout)).toThrow(/shell/)
    expect(() => incomingUri('/s/$(reboot)')).toThrow(/shell/)
    expect(values(qemuArgs(spec(), layout), '-incoming')).toEqual([])
  })

  it('backs guest memory with a file only when asked: shared for a template, copy-on-write for a restored box', () => {
    expect(values(qemuArgs(spec(), layout), '-object')).toEqual([])
    expect(values(qemuArgs(spec(), layout), '-M')[0]).not.toContain('memory-backend')
    const template = qemuArgs(spec({ memoryMiB: 512, memoryFile: { path: '/c/s,1.ram', shared: true } }), layout)
    expect(values(template, '-object')).toEqual(['memory-backend-file,id=ram,size=512M,mem-path=/c/s,,1.ram,share=on'])
    expect(values(template, '-M')[0]).toMatch(/,memory-backend=ram$/)
    const restored = qemuArgs(spec({ memoryMiB: 512, memoryFile: { path: '/c/s.ram', shared: false } }), layout)
    expect(values(restored, '-object')).toEqual(['memory-backend-file,id=ram,size=512M,mem-path=/c/s.ram,share=off'])
  })

  it('rejects resources QEMU would misread', () => {
    expect(() => qemuArgs(spec({ cpus: 0 }), layout)).toThrow(RangeError)
    expect(() => qemuArgs(spec({ memoryMiB: 64 }), layout)).toThrow(RangeError)
  })

  it('tells the guest its TSC frequency and root disk', () => {
    expect(kernelCommandLine(spec({ tscKhz: 2096030.4 }))).toContain('tsc_early_khz=2096030')
    expect(kernelCommandLine(spec())).toContain('bottle.root_serial=bottle-root')
  })

  it('refuses a state folder whose socket paths are too long for Unix sockets', () => {
    expect(() => vmLayout(`/tmp/${'x'.repeat(120)}`)).toThrow(/longer than/)
  })
})

describe('isStaticElf', () => {
  function elf(programHeaderTypes: number[]): Buffer {
    const bytes = Buffer.alloc(64 + programHeaderTypes.length * 56)
    bytes.writeUInt32BE(0x7f454c46, 0)
    bytes[4] = 2
    bytes.writeBigUInt64LE(64n, 32)
    bytes.writeUInt16LE(56, 54)
    bytes.writeUInt16LE(programHeaderTypes.length, 56)
    programHeaderTypes.forEach((type, i) => bytes.writeUInt32LE(type, 64 + i * 56))
    return bytes
  }

  it('tells a static executable from one that needs a program interpreter', () => {
    expect(isStaticElf(elf([1, 1, 4]))).toBe(true)
    expect(isStaticElf(elf([6, 3, 1]))).toBe(false)
    expect(isStaticElf(Buffer.from('#!/bin/sh\n'))).toBe(false)
  })
})

describe('snapshotKey', () => {
  it('changes with everything a restore must match, and only with that', async () => {
    const { snapshotKey } = await import('../../../../../controller/runtime/vm/boot-snapshot.js')
    const disk = { path: '/a/ws.img', readOnly: false, serial: 'workspace' }
    const base = snapshotKey(spec({ disks: [disk] }), [1024])
    // Per-box differences: the disk file behind a slot, the helper's target, the snapshot to restore.
    expect(snapshotKey(spec({ disks: [{ ...disk, path: '/b/ws.img' }] }), [1024])).toBe(base)
    expect(snapshotKey(spec({ disks: [disk], forwards: [{ guestPort: 8888, host: '10.9.9.9', hostPort: 1 }] }), [1024])).toBe(base)
    expect(snapshotKey(spec({ disks: [disk], incoming: '/x.bin' }), [1024])).toBe(base)
    // A different machine.
    for (const other of [
      snapshotKey(spec({ disks: [disk], memoryMiB: 768 }), [1024]),
      snapshotKey(spec({ disks: [disk], cpus: 2 }), [1024]),
      snapshotKey(spec({ disks: [disk], rootfs: '/k/other.erofs' }), [1024]),
      snapshotKey(spec({ disks: [disk], forwards: [{ guestPort: 9420, host: '172.30.0.2', hostPort: 8888 }] }), [1024]),
      snapshotKey(spec({ disks: [disk] }), [2048]),
      snapshotKey(spec(), []),
    ]) {
      expect(other).not.toBe(base)
    }
  })
})
