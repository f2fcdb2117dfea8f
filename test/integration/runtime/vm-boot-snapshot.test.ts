/**
 * How boxes start on the vm runtime: from a per-image boot snapshot, saved
 * once with blank disks, then restored per box with that box's own workspace
 * disk and identity. The restored box sees its own disk (not blocks cached
 * from the template's), writes to it durably, and two boxes restored from
 * one snapshot do not share their random numbers. A restarted controller
 * adopts a running box.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { ensureBootSnapshot, restoredSpec, type BootSnapshot } from '../../../controller/runtime/vm/boot-snapshot.js'
import { ensureInitramfs, ensureRootfs, findOnPath } from '../../../controller/runtime/vm/guest-assets.js'
import { GuestChannel } from '../../../controller/runtime/vm/guest-channel.js'
import { ensureExt4Disk } from '../../../controller/runtime/vm/guest-disks.js'
import { guestHostsFile } from '../../../controller/runtime/vm/guest-network.js'
import { probeHost, type HostCapability } from '../../../controller/runtime/vm/host-probe.js'
import { QemuVm, type VmSpec } from '../../../controller/runtime/vm/qemu-process.js'
import { adoptVmBox, startVmBox, stopVmBox, vmSpecFor, type VmBoxRequest } from '../../../controller/runtime/vm/vm-box.js'
import { docker, testLogger } from './docker-fixtures.js'

const WORKSPACE = '/home/agent/workspace'
const DISK_MIB = 256

let work: string
let image: string
let usableHost: Extract<HostCapability, { usable: true }>
let busyboxPath: string
let cacheDir: string
let spec: VmSpec
let bundle: Server
let bundlePort: number
const running: Array<{ vm: QemuVm; channel?: GuestChannel }> = []

/** A box restored from `snapshot` with its own workspace disk and identity. */
async function restoreBox(name: string, snapshot: BootSnapshot, disk: string): Promise<{ vm: QemuVm; channel: GuestChannel }> {
  const vm = await QemuVm.launch(join(work, name), restoredSpec({ ...spec, disks: [{ path: disk, readOnly: false, serial: 'workspace' }] }, snapshot))
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
  usableHost = host
  busyboxPath = busybox
  image = await new DockerImageStore({ docker, logger: testLogger() }).ensure({ kind: 'agent', provider: 'claude' })
  const [rootfs, initramfs] = await Promise.all([ensureRootfs(image, { docker }), ensureInitramfs(host.kernel)])

  bundle = createServer((socket) => socket.end('bundle\n'))
  bundlePort = await new Promise<number>((resolve) => bundle.listen(0, '127.0.0.1', () => resolve((bundle.address() as AddressInfo).port)))

  work = mkdtempSync('/tmp/bvs-')
  // A cache of this run's own: the snapshot is built here, not found from an earlier run.
  cacheDir = join(work, 'cache')
  spec = await vmSpecFor(host, { initramfs, rootfs: rootfs.path }, busybox, [{ guestPort: 8888, host: '127.0.0.1', hostPort: bundlePort }])
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
    expect(await ensureBootSnapshot(key, { cacheDir })).toEqual(first)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('starts boxes from one snapshot, each with its own identity and random numbers, and adopts them again', async () => {
    // The bundle as a container would serve it: its own address, the guest's port number.
    const bundle3 = createServer((socket) => socket.end('bundle three\n'))
    await new Promise<void>((resolve) => bundle3.listen(8888, '127.0.0.3', () => resolve()))
    try {
      const context = { docker, host: usableHost, busybox: busyboxPath, cacheDir }
      const request = (name: string): VmBoxRequest => ({
        image,
        hostname: name,
        bundle: { address: '127.0.0.3', ports: [8888], names: ['egress', 'git-gate'] },
        workspace: { disk: join(work, `${name}-workspace.img`), target: WORKSPACE },
      })
      // Disks of the size the snapshot was saved with, so both boxes restore the cached one.
      for (const name of ['c', 'd']) await ensureExt4Disk(request(name).workspace.disk, { sizeMiB: DISK_MIB })
      const c = await startVmBox(join(work, 'c'), request('c'), context)
      running.push(c)
      const d = await startVmBox(join(work, 'd'), request('d'), context)
      running.push(d)
      expect(readdirSync(join(cacheDir, 'snapshots')).filter((name) => name.endsWith('.vmstate'))).toHaveLength(1)
      // The guest's memory is one file both boxes map copy-on-write, not a copy each: a box's resident memory is what it touched.
      expect(readdirSync(join(cacheDir, 'snapshots')).filter((name) => name.endsWith('.ram'))).toHaveLength(1)
      for (const box of [c, d]) {
        const rssMiB = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${box.vm.pid}/status`, 'utf8'))?.[1]) / 1024
        expect(rssMiB).toBeGreaterThan(0)
        expect(rssMiB).toBeLessThan((spec.memoryMiB ?? 512) * 0.75)
      }
      expect(c.image.entrypoint).toEqual(['/usr/local/bin/bottle-agent-init'])

      const look = async (box: { channel: GuestChannel }): Promise<string> =>
        (
          await box.channel.exec([
            '/run/bottle/busybox',
            'sh',
            '-c',
            `hostname; /run/bottle/busybox nc git-gate 8888; mountpoint -q ${WORKSPACE} && echo mounted; head -c 32 /dev/urandom | /run/bottle/busybox od -An -tx1`,
          ])
        ).stdout
      const [fromC, fromD] = await Promise.all([look(c), look(d)])
      const [nameC, bundleC, mountedC, ...randomC] = fromC.trim().split('\n')
      const [nameD, , , ...randomD] = fromD.trim().split('\n')
      expect([nameC, bundleC, mountedC, nameD]).toEqual(['c', 'bundle three', 'mounted', 'd'])
      expect(randomC.join('').length).toBeGreaterThan(60)
      expect(randomC).not.toEqual(randomD)

      // A restarted controller: the old connections are gone, the box is not.
      c.channel.close()
      c.vm.qmp.close()
      const adopted = await adoptVmBox(join(work, 'c'))
      expect(adopted?.vm.pid).toBe(c.vm.pid)
      expect((await adopted?.channel.exec(['hostname']))?.stdout).toBe('c\n')
      if (adopted !== undefined) await stopVmBox(adopted)
      expect(c.vm.alive()).toBe(false)
      expect(await adoptVmBox(join(work, 'c'))).toBeUndefined()
    } finally {
      await new Promise<void>((resolve) => bundle3.close(() => resolve()))
    }
  })
})
