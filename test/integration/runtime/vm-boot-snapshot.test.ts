/**
 * How boxes start on the vm runtime: from a per-image boot snapshot, saved
 * once with blank disks, then restored per box with that box's own workspace
 * disk and identity. The restored box sees its own disk (not blocks cached
 * from the template's), writes to it durably, and two boxes restored from
 * one snapshot do not share their random numbers.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { ensureBootSnapshot } from '../../../controller/runtime/vm/boot-snapshot.js'
import { ensureInitramfs, ensureRootfs, findOnPath } from '../../../controller/runtime/vm/guest-assets.js'
import { GuestChannel } from '../../../controller/runtime/vm/guest-channel.js'
import { ensureExt4Disk } from '../../../controller/runtime/vm/guest-disks.js'
import { busyboxNcHelper, guestHostsFile } from '../../../controller/runtime/vm/guest-network.js'
import { hostTscKhz, probeHost } from '../../../controller/runtime/vm/host-probe.js'
import { QemuVm, type VmSpec } from '../../../controller/runtime/vm/qemu-process.js'
import { docker, testLogger } from './docker-fixtures.js'

const WORKSPACE = '/home/agent/workspace'
const DISK_MIB = 256

let work: string
let cacheDir: string
let spec: VmSpec
let bundle: Server
let bundlePort: number
const running: Array<{ vm: QemuVm; channel?: GuestChannel }> = []

/** A box restored from `snapshot` with its own workspace disk and identity. */
async function restoreBox(name: string, snapshot: string, disk: string): Promise<{ vm: QemuVm; channel: GuestChannel }> {
  const vm = await QemuVm.launch(join(work, name), {
    ...spec,
    disks: [{ path: disk, readOnly: false, serial: 'workspace' }],
    incoming: snapshot,
  })
  const box: { vm: QemuVm; channel?: GuestChannel } = { vm }
  running.push(box)
  await vm.runRestored()
  const channel = await vm.connectGuest({ readyTimeoutMs: 30_000 })
  box.channel = channel
  await channel.configure({
    mounts: [{ serial: 'workspace', target: WORKSPACE }],
    hosts: guestHostsFile(name, ['egress']),
    hostname: name,
    timeMs: Date.now(),
    seed: Buffer.from(`${name}-seed-${Math.random()}`),
  })
  return { vm, channel }
}

beforeAll(async () => {
  const host = await probeHost()
  if (!host.usable) throw new Error(`this host cannot run micro-VMs: ${host.reason}`)
  const busybox = findOnPath('busybox')
  if (busybox === undefined) throw new Error('busybox is not installed')
  const image = await new DockerImageStore({ docker, logger: testLogger() }).ensure({ kind: 'agent', provider: 'claude' })
  const [rootfs, initramfs] = await Promise.all([ensureRootfs(image, { docker }), ensureInitramfs(host.kernel)])

  bundle = createServer((socket) => socket.end('bundle\n'))
  bundlePort = await new Promise<number>((resolve) => bundle.listen(0, '127.0.0.1', () => resolve((bundle.address() as AddressInfo).port)))

  work = mkdtempSync('/tmp/bvs-')
  // A cache of this run's own: the snapshot is built here, not found from an earlier run.
  cacheDir = join(work, 'cache')
  spec = {
    qemu: host.qemu,
    accelerator: host.accelerator,
    kernel: host.kernel.kernel,
    initramfs,
    rootfs: rootfs.path,
    forwards: [{ guestPort: 8888, host: '127.0.0.1', hostPort: bundlePort }],
    forwardHelper: busyboxNcHelper(busybox),
    tscKhz: await hostTscKhz(),
  }
})

afterAll(async () => {
  for (const box of running) {
    box.channel?.close()
    await box.vm.stop()
  }
  await new Promise<void>((resolve) => (bundle ? bundle.close(() => resolve()) : resolve()))
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

describe('a box started from a boot snapshot', () => {
  it('gets its own workspace disk and keeps what it writes there', async () => {
    const seedDir = join(work, 'seed')
    mkdirSync(seedDir)
    writeFileSync(join(seedDir, 'marker.txt'), 'from the host\n')
    const disk = join(work, 'a-workspace.img')
    await ensureExt4Disk(disk, { sizeMiB: DISK_MIB, fromDir: seedDir })
    await ensureExt4Disk(disk, { sizeMiB: DISK_MIB }) // an existing disk is never formatted again

    const snapshot = await ensureBootSnapshot({ ...spec, disks: [{ path: disk, readOnly: false, serial: 'workspace' }] }, { cacheDir })
    const started = Date.now()
    const { vm, channel } = await restoreBox('a', snapshot, disk)
    process.stderr.write(`vm-boot-snapshot: restore, identity and mount ${Date.now() - started} ms\n`)

    const seen = await channel.exec(['sh', '-c', `cat ${WORKSPACE}/marker.txt && hostname && /run/bottle/busybox nc egress 8888`])
    expect(seen).toEqual({ exitCode: 0, stdout: 'from the host\na\nbundle\n', stderr: '' })
    expect((await channel.exec(['sh', '-c', `echo from the guest >${WORKSPACE}/out.txt`])).exitCode).toBe(0)
    await channel.sync()
    channel.close()
    await vm.stop()
    // Read on the host without mounting: the write reached the image file.
    expect(execFileSync('debugfs', ['-R', 'cat /out.txt', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toBe(
      'from the guest\n',
    )
  })

  it('is saved once per machine and reused', async () => {
    const disk = join(work, 'b-workspace.img')
    await ensureExt4Disk(disk, { sizeMiB: DISK_MIB })
    const key = { ...spec, disks: [{ path: disk, readOnly: false, serial: 'workspace' }] }
    const first = await ensureBootSnapshot({ ...key, disks: [{ path: join(work, 'a-workspace.img'), readOnly: false, serial: 'workspace' }] }, { cacheDir })
    const started = Date.now()
    // Another box's disk of the same size: the same machine, the same snapshot, no boot.
    expect(await ensureBootSnapshot(key, { cacheDir })).toBe(first)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('gives boxes restored from one snapshot different random numbers', async () => {
    const snapshotDisk = join(work, 'b-workspace.img')
    const snapshot = await ensureBootSnapshot({ ...spec, disks: [{ path: snapshotDisk, readOnly: false, serial: 'workspace' }] }, { cacheDir })
    const disks = [join(work, 'c-workspace.img'), join(work, 'd-workspace.img')]
    for (const disk of disks) await ensureExt4Disk(disk, { sizeMiB: DISK_MIB })
    const c = await restoreBox('c', snapshot, disks[0] ?? '')
    const d = await restoreBox('d', snapshot, disks[1] ?? '')
    const read = async (channel: GuestChannel): Promise<string> =>
      (await channel.exec(['/run/bottle/busybox', 'sh', '-c', 'head -c 32 /dev/urandom | /run/bottle/busybox od -An -tx1'])).stdout
    const [fromC, fromD] = await Promise.all([read(c.channel), read(d.channel)])
    expect(fromC.trim().length).toBeGreaterThan(60)
    expect(fromC).not.toBe(fromD)
  })
})
