/**
 * The micro-VM's start-up costs on this host: a cold boot (kernel, initramfs,
 * the agent image's root filesystem, guest agent) against a restore from a
 * snapshot of a booted box, each to the first answered command; the latency
 * of a trivial command through the guest agent; QEMU's resident memory.
 * Medians of 5 runs. Run after `npm run build`: node dist/bench/vm/boot.js
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import pino from 'pino'
import Dockerode from 'dockerode'
import { DockerImageStore } from '../../controller/runtime/docker/image-store.js'
import { ensureBootSnapshot, restoredSpec } from '../../controller/runtime/vm/boot-snapshot.js'
import { ensureInitramfs, ensureRootfs, findOnPath } from '../../controller/runtime/vm/guest-assets.js'
import { GuestChannel } from '../../controller/runtime/vm/guest-channel.js'
import { probeHost } from '../../controller/runtime/vm/host-probe.js'
import { vmSpecFor } from '../../controller/runtime/vm/vm-box.js'
import { QemuVm, type VmSpec } from '../../controller/runtime/vm/qemu-process.js'
import { median, printTable } from '../lib/stats.js'

const RUNS = Number(process.env.BOTTLE_BENCH_RUNS ?? 5)

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN)
  return Math.round(kib / 1024)
}

interface Started {
  vm: QemuVm
  channel: GuestChannel
  readyMs: number
  firstExecMs: number
}

async function start(dir: string, spec: VmSpec, restore: boolean): Promise<Started> {
  const t0 = performance.now()
  const vm = await QemuVm.launch(dir, spec)
  const options = { readyTimeoutMs: 120_000, pingIntervalMs: 20 }
  const channel = restore ? await vm.connectRestored(options) : await vm.connectGuest(options)
  const readyMs = performance.now() - t0
  const result = await channel.exec(['true'])
  if (result.exitCode !== 0) throw new Error(`true exited ${result.exitCode}`)
  return { vm, channel, readyMs, firstExecMs: performance.now() - t0 }
}

async function stopVm(started: Started): Promise<void> {
  started.channel.close()
  await started.vm.stop()
}

async function main(): Promise<void> {
  const host = await probeHost()
  if (!host.usable) throw new Error(`this host cannot run micro-VMs: ${host.reason}`)
  const busybox = findOnPath('busybox')
  if (busybox === undefined) throw new Error('busybox is not installed')
  const docker = new Dockerode()
  const image = await new DockerImageStore({ docker, logger: pino({ level: 'silent' }) }).ensure({ kind: 'agent', provider: 'claude' })

  const rootfsStart = performance.now()
  const rootfs = await ensureRootfs(image, { docker })
  const rootfsMs = performance.now() - rootfsStart
  const initramfs = await ensureInitramfs(host.kernel)
  const spec: VmSpec = { ...(await vmSpecFor(host, { initramfs, rootfs: rootfs.path }, busybox, [{ guestPort: 8888, host: '127.0.0.1', hostPort: 9 }])), cpus: 1, memoryMiB: 512 }

  const work = await mkdtemp('/tmp/bvm-bench-')
  const cold: Started[] = []
  const restored: Started[] = []
  try {
    const rss: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const started = await start(`${work}/cold${i}`, spec, false)
      rss.push(await rssMiB(started.vm.pid))
      cold.push(started)
      if (i < RUNS - 1) await stopVm(started)
    }
    const last = cold[cold.length - 1]
    if (last === undefined) throw new Error('no run')
    const execMs: number[] = []
    for (let i = 0; i < 20; i++) {
      const t = performance.now()
      await last.channel.exec(['true'])
      execMs.push(performance.now() - t)
    }
    last.channel.close()
    await last.vm.stop()
    // The product's path: a template booted with its memory in a file, saved, and restored copy-on-write.
    const saveStart = performance.now()
    const snapshot = await ensureBootSnapshot(spec, { cacheDir: `${work}/cache` })
    const saveMs = performance.now() - saveStart
    const stateKiB = Math.round((await stat(snapshot.state)).size / 1024)
    // Allocated blocks: the memory file is as large as the guest's memory, but sparse.
    const memoryMiB = Math.round(((await stat(snapshot.memory)).blocks * 512) / 2 ** 20)

    const restoredRss: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const started = await start(`${work}/restore${i}`, restoredSpec(spec, snapshot), true)
      restoredRss.push(await rssMiB(started.vm.pid))
      restored.push(started)
      await stopVm(started)
    }

    const ms = (values: number[]): string => `${Math.round(median(values))} ms`
    console.log(`vm boot bench: ${host.accelerator}${host.kvmUnavailable ? ` (${host.kvmUnavailable})` : ''}, 1 vCPU, 512 MiB, median of ${RUNS}`)
    printTable(
      ['measure', 'value'],
      [
        ['root fs build (cached after the first)', ms([rootfsMs])],
        ['cold boot to guest agent', ms(cold.map((s) => s.readyMs))],
        ['cold boot to first command', ms(cold.map((s) => s.firstExecMs))],
        ['snapshot build (boot and save, once per image)', ms([saveMs])],
        ['snapshot on disk', `${stateKiB} KiB state, ${memoryMiB} MiB memory (sparse)`],
        ['restore to running (guest port connected)', ms(restored.map((s) => s.readyMs))],
        ['restore to first command', ms(restored.map((s) => s.firstExecMs))],
        ['exec `true` round trip (median of 20)', ms(execMs)],
        ['QEMU RSS after cold boot', `${median(rss)} MiB`],
        ['QEMU RSS after restore', `${median(restoredRss)} MiB`],
      ],
    )
  } finally {
    // A failed run must not leave VMs behind; stopping a stopped one is a no-op.
    for (const started of [...cold, ...restored]) await stopVm(started).catch(() => undefined)
    await rm(work, { recursive: true, force: true })
  }
}

await main()
