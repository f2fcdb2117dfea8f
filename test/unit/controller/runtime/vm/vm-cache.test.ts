import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { snapshotFileName } from '../../../../../controller/runtime/vm/boot-snapshot.js'
import { qemuArgs, vmLayout } from '../../../../../controller/runtime/vm/qemu-process.js'
import { pruneVmCache } from '../../../../../controller/runtime/vm/vm-cache.js'

const cacheDir = mkdtempSync(join(tmpdir(), 'bottle-vmcache-'))
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }))

function touch(relative: string): string {
  const path = join(cacheDir, relative)
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, '')
  return path
}

const spec = (rootfs: string, initramfs: string) => ({
  qemu: 'q',
  accelerator: 'tcg' as const,
  kernel: 'k',
  initramfs: join(cacheDir, 'initramfs', initramfs),
  rootfs: join(cacheDir, 'rootfs', rootfs),
  forwards: [],
  forwardHelper: () => ['nc'],
})

describe('pruneVmCache', () => {
  it('keeps the wanted images, the current initramfs and the snapshots made of both, and nothing else', async () => {
    const kept = touch('rootfs/aaaa.erofs')
    const old = touch('rootfs/bbbb.erofs')
    const current = touch('initramfs/1111.cpio')
    const stale = touch('initramfs/2222.cpio')
    const good = touch(`snapshots/${snapshotFileName(spec('aaaa.erofs', '1111.cpio'), 'k1')}`)
    const goodMemory = touch(`snapshots/${snapshotFileName(spec('aaaa.erofs', '1111.cpio'), 'k1').replace(/\.vmstate$/, '.ram')}`)
    const oldImage = touch(`snapshots/${snapshotFileName(spec('bbbb.erofs', '1111.cpio'), 'k2')}`)
    const oldImageMemory = touch(`snapshots/${snapshotFileName(spec('bbbb.erofs', '1111.cpio'), 'k2').replace(/\.vmstate$/, '.ram')}`)
    const oldInit = touch(`snapshots/${snapshotFileName(spec('aaaa.erofs', '2222.cpio'), 'k3')}`)
    // A snapshot being built beside the prune: its files are not the cache's yet.
    const building = [touch('snapshots/.k4.0a1b2c3d.vmstate.tmp'), touch('snapshots/.k4.0a1b2c3d.ram.tmp')]
    const kernel = touch('kernel/6.1/boot/vmlinuz-6.1')

    const removed = await pruneVmCache({ cacheDir, keepImageIds: ['sha256:aaaa'], currentInitramfs: current })

    expect(removed.sort()).toEqual([old, stale, oldImage, oldImageMemory, oldInit].sort())
    for (const path of [kept, current, good, goodMemory, kernel, ...building]) expect(existsSync(path)).toBe(true)
    for (const path of removed) expect(existsSync(path)).toBe(false)
    expect(good.endsWith('aaaa_1111_k1.vmstate')).toBe(true)
  })
})

describe('snapshotFileName', () => {
  it('names a file QEMU can restore from', () => {
    const s = spec('0152c2556b8d.erofs', '74c4e7e9874ab968.cpio')
    const incoming = join('/cache/snapshots', snapshotFileName(s, 'abc123'))
    expect(() => qemuArgs({ ...s, incoming }, vmLayout('/tmp/x'))).not.toThrow()
  })
})
