/**
 * One QEMU micro-VM per box: its command line, its launch, and finding it
 * again. Everything a VM needs at run time lives in a per-Agent state folder
 * (mode 0700, since its sockets are the box's control and its console log
 * may show the box's output):
 *   qemu.pid      written by QEMU itself
 *   qmp.sock      the QEMU Machine Protocol (status, quit, snapshots)
 *   agent.sock    the guest agent's virtio-serial port
 *   console.log   the guest's serial console (kernel and /init messages)
 * QEMU runs detached in a session of its own, so a VM outlives the
 * controller that started it; a restarted controller adopts it from the pid
 * file and QMP socket. It does not daemonize: daemonizing forks QEMU after
 * it has mapped some fifty libraries, and the parent then waits for the
 * child's whole start (here, launch to a loading snapshot took ~150 ms
 * daemonized and ~125 ms without).
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, readFile, rm } from 'node:fs/promises'
import { Socket } from 'node:net'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { GuestChannel, type ConnectOptions } from './guest-channel.js'
import { userNetdev, type BundleForward, type ForwardHelper } from './guest-network.js'
import type { Accelerator } from './host-probe.js'
import { QmpClient, QmpError } from './qmp.js'

/** The serial the guest's /init looks for to find its root disk. */
export const ROOT_DISK_SERIAL = 'bottle-root'
/** The virtio-serial port name the guest agent opens. */
export const AGENT_PORT_NAME = 'bottle.agent'
/**
 * Guest agent ports per VM. QEMU serves one host connection per port: the
 * controller keeps the first (agentSocket), and a command (`bottle exec`,
 * `attach`, `logs`) takes whichever spare one answers.
 */
export const AGENT_PORTS = 4

export interface VmDisk {
  path: string
  readOnly: boolean
  /** Read back in the guest from /sys/block/vdX/serial, which is how it tells disks apart. */
  serial: string
}

export interface VmSpec {
  qemu: string
  accelerator: Accelerator
  kernel: string
  initramfs: string
  /** The root filesystem image (erofs), attached read-only. */
  rootfs: string
  cpus?: number
  memoryMiB?: number
  /** The bundle's ports, and nothing else, reachable from the guest. */
  forwards: readonly BundleForward[]
  forwardHelper: ForwardHelper
  disks?: readonly VmDisk[]
  /**
   * The host's TSC frequency. With the PIT enabled, a guest that calibrates
   * the TSC itself under TCG sometimes marks it unstable and hangs early in
   * boot; telling it the frequency avoids the calibration.
   */
  tscKhz?: number
  /**
   * Guest memory in a file instead of anonymous memory. `shared`: the
   * guest's writes land in the file (the VM a boot snapshot is taken from).
   * Otherwise the file is mapped copy-on-write: the guest starts from what
   * the file holds, and QEMU's resident memory grows only by the pages the
   * guest touches, not by the whole of its memory. Either way the memory
   * stays out of migration streams (`x-ignore-shared`), so a snapshot's
   * device state and its memory are two files.
   */
  memoryFile?: { path: string; shared: boolean }
  /** Restore the VM's device state from this file instead of booting (see memoryFile). */
  incoming?: string
  /** The image's node, which runs the guest agent. Default: found by the guest's /init. */
  guestNode?: string
}

export interface VmLayout {
  dir: string
  pidFile: string
  qmpSocket: string
  agentSocket: string
  /** The spare ports' sockets, for clients other than the controller. */
  spareAgentSockets: string[]
  consoleLog: string
}

/** How much of QEMU's output a launch keeps to say why QEMU did not start. */
const MAX_START_OUTPUT = 16 * 1024

/** Unix socket paths are limited to 107 bytes; longer ones would fail deep inside QEMU. */
const MAX_SOCKET_PATH = 107

export function vmLayout(stateDir: string): VmLayout {
  const dir = resolve(stateDir)
  const layout = {
    dir,
    pidFile: join(dir, 'qemu.pid'),
    qmpSocket: join(dir, 'qmp.sock'),
    agentSocket: join(dir, 'agent.sock'),
    spareAgentSockets: Array.from({ length: AGENT_PORTS - 1 }, (_, i) => join(dir, `agent.${i + 1}.sock`)),
    consoleLog: join(dir, 'console.log'),
  }
  for (const socket of [layout.qmpSocket, layout.agentSocket, ...layout.spareAgentSockets]) {
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) throw new RangeError(`socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes`)
  }
  return layout
}

export class VmError extends Error {
  override readonly name = 'VmError'
}

/** QEMU's -drive and -chardev values are comma-separated; a comma in a path must be doubled. */
function optionValue(path: string): string {
  return path.replaceAll(',', ',,')
}

/** Paths inside a migration `exec:` URI go through a shell: only plain characters are allowed. */
function plainPath(path: string): string {
  if (!/^[A-Za-z0-9_./@%+=-]+$/.test(path)) throw new RangeError(`snapshot path ${path} has characters a shell would read`)
  return path
}

/** Where a restore reads its snapshot's device state from. */
export function incomingUri(snapshot: string): string {
  return `exec:cat ${plainPath(snapshot)}`
}

export function kernelCommandLine(spec: VmSpec): string {
  return [
    'console=ttyS0',
    // The console is a slow emulated UART: only errors go to it.
    'quiet',
    'panic=-1',
    'reboot=t',
    ...(spec.tscKhz === undefined ? [] : [`tsc_early_khz=${Math.round(spec.tscKhz)}`]),
    `bottle.root_serial=${ROOT_DISK_SERIAL}`,
    ...(spec.guestNode === undefined ? [] : [`bottle.node=${plainPath(spec.guestNode)}`]),
  ].join(' ')
}

export function qemuArgs(spec: VmSpec, layout: VmLayout): string[] {
  const cpus = spec.cpus ?? 1
  const memoryMiB = spec.memoryMiB ?? 512
  if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`cpus ${cpus} must be a positive integer`)
  if (!Number.isInteger(memoryMiB) || memoryMiB < 128) throw new RangeError(`memory ${memoryMiB} MiB must be an integer of at least 128`)
  const args = [
    '-name', 'bottle-vm',
    // The PIT, PIC and RTC keep stock kernels' timer set-up simple (see tscKhz).
    '-M', `microvm,pit=on,pic=on,rtc=on,isa-serial=on${spec.memoryFile ? ',memory-backend=ram' : ''}`,
    // TCG's translation cache defaults to 1 GiB of host memory; 64 MiB keeps a box's QEMU small at little cost.
    '-accel', spec.accelerator === 'tcg' ? 'tcg,tb-size=64' : spec.accelerator,
    '-cpu', spec.accelerator === 'kvm' ? 'host' : 'max',
    '-smp', String(cpus),
    '-m', String(memoryMiB),
    ...(spec.memoryFile ? ['-object', `memory-backend-file,id=ram,size=${memoryMiB}M,mem-path=${optionValue(spec.memoryFile.path)},share=${spec.memoryFile.shared ? 'on' : 'off'}`] : []),
    '-nodefaults', '-no-user-config', '-no-reboot',
    '-display', 'none',
    '-pidfile', layout.pidFile,
    '-qmp', `unix:${optionValue(layout.qmpSocket)},server=on,wait=off`,
    '-chardev', `file,id=console,path=${optionValue(layout.consoleLog)}`,
    '-serial', 'chardev:console',
    // A restored guest is long past its boot and never boots again (-no-reboot), so it needs no kernel: loading one is a third of QEMU's start.
    ...(spec.incoming === undefined ? ['-kernel', spec.kernel, '-initrd', spec.initramfs, '-append', kernelCommandLine(spec)] : []),
    '-drive', `id=root,file=${optionValue(spec.rootfs)},format=raw,if=none,read-only=on`,
    '-device', `virtio-blk-device,drive=root,serial=${ROOT_DISK_SERIAL}`,
  ]
  for (const [index, disk] of (spec.disks ?? []).entries()) {
    if (!/^[A-Za-z0-9_-]{1,20}$/.test(disk.serial)) throw new RangeError(`disk serial ${disk.serial} must be 1-20 plain characters`)
    args.push(
      '-drive', `id=disk${index},file=${optionValue(disk.path)},format=raw,if=none${disk.readOnly ? ',read-only=on' : ''}`,
      '-device', `virtio-blk-device,drive=disk${index},serial=${disk.serial}`,
    )
  }
  args.push(
    '-netdev', userNetdev('net0', spec.forwards, spec.forwardHelper),
    '-device', 'virtio-net-device,netdev=net0',
    '-device', 'virtio-rng-device',
    '-device', 'virtio-serial-device',
    '-chardev', `socket,id=agent,path=${optionValue(layout.agentSocket)},server=on,wait=off`,
    '-device', `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
  )
  for (const [index, socket] of layout.spareAgentSockets.entries()) {
    args.push(
      '-chardev', `socket,id=agent${index + 1},path=${optionValue(socket)},server=on,wait=off`,
      '-device', `virtserialport,chardev=agent${index + 1},name=${AGENT_PORT_NAME}.${index + 1}`,
    )
  }
  if (spec.incoming !== undefined) {
    // Checked here, so a bad path fails before QEMU starts; loaded once QMP has set the stream's capabilities (see launch).
    incomingUri(spec.incoming)
    args.push('-incoming', 'defer')
  }
  return args
}

export interface GuestConnectOptions extends ConnectOptions {
  /** `main` (default): the controller's port. `spare`: one of the others, for a command run beside the controller. */
  port?: 'main' | 'spare'
}

/** How long a spare port may take to answer before it is taken to be in use. */
const SPARE_PORT_WAIT_MS = 2_000

/**
 * The migration capabilities every snapshot is saved and loaded with; the
 * two sides must agree, since they change the stream's layout.
 * `x-ignore-shared` leaves memory a file backs (shared) out of the stream:
 * a snapshot's memory is then its own file, which restored boxes map
 * copy-on-write instead of each reading it whole into their own memory.
 */
async function setStreamCapabilities(qmp: QmpClient): Promise<void> {
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] })
}

/** A running QEMU of one box, started here or adopted. */
export class QemuVm {
  private constructor(
    readonly pid: number,
    readonly layout: VmLayout,
    private readonly control: QmpClient | undefined,
  ) {}

  /** The QMP connection. QEMU serves one at a time, so only the controller's handle has it. */
  get qmp(): QmpClient {
    if (this.control === undefined) throw new VmError(`this handle of the VM in ${this.layout.dir} has no QMP connection (it was adopted beside the controller)`)
    return this.control
  }

  /**
   * Starts QEMU for the box whose state lives in `stateDir`. Resolves once
   * QEMU runs (or waits for its snapshot) and answers QMP; the guest agent
   * answers later, see connectGuest.
   */
  static async launch(stateDir: string, spec: VmSpec): Promise<QemuVm> {
    const layout = vmLayout(stateDir)
    await mkdir(layout.dir, { recursive: true, mode: 0o700 })
    await chmod(layout.dir, 0o700)
    if (await QemuVm.runningPid(layout)) throw new VmError(`a VM already runs in ${layout.dir}`)
    await Promise.all([layout.pidFile, layout.qmpSocket, layout.agentSocket, ...layout.spareAgentSockets].map((path) => rm(path, { force: true })))
    const started = new AbortController()
    let qemuEnded: string | undefined
    const ended = (reason: string): void => {
      qemuEnded ??= reason
      started.abort()
    }
    // A clean environment: QEMU and the forward helpers it starts inherit it,
    // and the controller's own (which may hold tokens) is none of theirs.
    const child = spawn(spec.qemu, qemuArgs(spec, layout), {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    })
    // Before any await: a QEMU that cannot be run says so on the next tick.
    child.once('error', (error) => ended(error.message))
    child.once('exit', (code, signal) => ended(`exit ${String(code ?? signal)}`))
    // QEMU's (and its forward helpers') stderr comes here and nowhere else:
    // the start's first words say why it failed, and what a guest could make
    // it print later is dropped, so no box can fill a disk with it. Once the
    // controller is gone the pipe is closed; QEMU ignores SIGPIPE.
    const said: Buffer[] = []
    let saidBytes = 0
    const keep = (chunk: Buffer): void => {
      const room = MAX_START_OUTPUT - saidBytes
      if (room <= 0) return
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room)
      said.push(kept)
      saidBytes += kept.length
    }
    child.stderr?.on('data', keep)
    const stopKeeping = (): void => {
      child.stderr?.off('data', keep)
      child.stderr?.resume()
      // A pipe QEMU may hold for days must not keep a finished controller alive.
      if (child.stderr instanceof Socket) child.stderr.unref()
    }
    child.unref()
    let qmp: QmpClient
    try {
      qmp = await QmpClient.connect(layout.qmpSocket, 60_000, { retryMs: 5, signal: started.signal })
    } catch (error) {
      if (child.pid !== undefined) killQuietly(child.pid)
      // What QEMU wrote before it exited is read before it is quoted.
      if (qemuEnded !== undefined && child.stderr?.readableEnded === false) await Promise.race([new Promise((resolve) => child.stderr?.once('close', resolve)), sleep(1_000)])
      stopKeeping()
      const words = Buffer.concat(said).toString('utf8').trim().split('\n').slice(-3).join(' / ')
      throw new VmError(`QEMU did not start (${qemuEnded ?? (error as Error).message})${words === '' ? '' : `: ${words}`}`, { cause: error })
    }
    stopKeeping()
    try {
      const pid = await QemuVm.runningPid(layout)
      if (pid === undefined || pid !== child.pid) throw new VmError(`QEMU started but its pid file ${layout.pidFile} does not name it`)
      if (spec.incoming !== undefined) {
        await setStreamCapabilities(qmp)
        await qmp.execute('migrate-incoming', { uri: incomingUri(spec.incoming) })
      }
      return new QemuVm(pid, layout, qmp)
    } catch (error) {
      qmp.close()
      if (child.pid !== undefined) killQuietly(child.pid)
      throw error
    }
  }

  /**
   * The VM already running in `stateDir`, or undefined. The pid file alone
   * could name a recycled pid, so the process must also be the QEMU that
   * serves this folder's QMP socket.
   */
  static async adopt(stateDir: string, options: { control?: boolean } = {}): Promise<QemuVm | undefined> {
    const layout = vmLayout(stateDir)
    const pid = await QemuVm.runningPid(layout)
    if (pid === undefined) return undefined
    if (options.control === false) return new QemuVm(pid, layout, undefined)
    try {
      return new QemuVm(pid, layout, await QmpClient.connect(layout.qmpSocket, 5_000))
    } catch (error) {
      throw new VmError(`QEMU ${pid} of ${layout.dir} runs but its QMP socket does not answer`, { cause: error })
    }
  }

  /** The pid of the QEMU serving `layout`, when it runs. */
  static async runningPid(layout: VmLayout): Promise<number | undefined> {
    let pid: number
    try {
      pid = Number((await readFile(layout.pidFile, 'utf8')).trim())
    } catch {
      return undefined
    }
    if (!Number.isInteger(pid) || pid <= 0) return undefined
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
      return cmdline.some((arg) => arg.includes(layout.qmpSocket)) ? pid : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Connects to the guest agent once it answers. A guest that fails to
   * start stops the VM (its /init reboots, and QEMU runs with -no-reboot),
   * so a QEMU that is gone ends the wait at once, with the guest's last
   * console line as the reason instead of a timeout.
   */
  async connectGuest(options: GuestConnectOptions = {}): Promise<GuestChannel> {
    const gone = new AbortController()
    const watch = (async (): Promise<never> => {
      while (!gone.signal.aborted && this.alive()) await sleep(50)
      throw new VmError('QEMU exited')
    })()
    try {
      return await Promise.race([this.connectPort(options, gone.signal), watch])
    } catch (error) {
      // The channel's socket may break a moment before the process is gone.
      for (let i = 0; i < 40 && this.alive(); i++) await sleep(50)
      if (this.alive()) throw error
      throw new VmError(`the VM stopped before its guest agent answered: ${await this.lastConsoleLine()}`, { cause: error })
    } finally {
      gone.abort()
      watch.catch(() => undefined)
    }
  }

  /**
   * Continues a VM restored from a boot snapshot and connects to its guest
   * agent. The main port is connected before the guest runs: the snapshot
   * was saved while a host was connected there, with the guest agent waiting
   * in a read of that port, and a port that is connected again before the
   * guest wakes up is never seen to close: the read simply goes on, where a
   * port seen to close would be looked at again only on the guest agent's
   * idle poll. The guest agent ran when the snapshot was saved, so requests
   * need not wait for its first answer (see ConnectOptions.pipelined).
   */
  async connectRestored(options: Omit<GuestConnectOptions, 'port' | 'afterConnect' | 'pipelined'> = {}): Promise<GuestChannel> {
    return await this.connectGuest({ ...options, afterConnect: () => this.runRestored(), pipelined: true })
  }

  /**
   * The main port, or the first spare one that answers: a port in use
   * accepts the connection (the kernel does) but its guest side never
   * answers it, so each gets a short wait before the next is tried.
   */
  private async connectPort(options: GuestConnectOptions, signal: AbortSignal): Promise<GuestChannel> {
    if (options.port !== 'spare') return GuestChannel.connect(this.layout.agentSocket, { ...options, signal })
    for (const socket of this.layout.spareAgentSockets) {
      try {
        return await GuestChannel.connect(socket, { ...options, readyTimeoutMs: Math.min(options.readyTimeoutMs ?? SPARE_PORT_WAIT_MS, SPARE_PORT_WAIT_MS), signal })
      } catch (error) {
        if (signal.aborted) throw error
      }
    }
    throw new VmError(`all ${this.layout.spareAgentSockets.length} spare guest agent ports of ${this.layout.dir} are in use`)
  }

  /** The guest's reason for stopping from its console (its /init's failure, a kernel panic), for status. */
  async lastConsoleLine(): Promise<string> {
    try {
      const lines = (await readFile(this.layout.consoleLog, 'utf8')).split('\n').map((line) => line.trim())
      // The guest's own complaint, else the kernel's last word before the restart it asked for.
      return (
        lines.filter((line) => line.startsWith('bottle-init:')).at(-1) ??
        lines.filter((line) => line !== '' && !/reboot: Restarting/.test(line)).at(-1) ??
        'no console output'
      )
    } catch {
      return 'no console output'
    }
  }

  /** QEMU's run state: 'running', 'paused', 'inmigrate', 'postmigrate', 'shutdown'... */
  async status(): Promise<string> {
    const reply = (await this.qmp.execute('query-status')) as { status?: unknown }
    return typeof reply.status === 'string' ? reply.status : 'unknown'
  }

  /** Lets go of the QMP connection, leaving the VM running, so another client can take it. */
  disconnect(): void {
    this.control?.close()
  }

  /** True while the QEMU process exists. */
  alive(): boolean {
    return existsSync(`/proc/${this.pid}`) && !isZombie(this.pid)
  }

  /**
   * Saves the whole VM (memory, devices, the guest agent mid-conversation)
   * to `file`. The VM is paused when this resolves; `resume()` runs it on.
   */
  async saveSnapshot(file: string, timeoutMs = 60_000): Promise<void> {
    await this.qmp.execute('stop')
    await setStreamCapabilities(this.qmp)
    await this.qmp.execute('migrate', { uri: `exec:cat > ${plainPath(file)}` })
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const info = (await this.qmp.execute('query-migrate')) as { status?: unknown; 'error-desc'?: unknown }
      if (info.status === 'completed') return
      if (info.status === 'failed' || info.status === 'cancelled') {
        throw new VmError(`saving the snapshot failed: ${String(info['error-desc'] ?? info.status)}`)
      }
      if (Date.now() > deadline) throw new VmError('saving the snapshot timed out')
      await sleep(20)
    }
  }

  async resume(): Promise<void> {
    await this.qmp.execute('cont')
  }

  /**
   * Runs a restored VM and resolves once it runs. Snapshots are saved from a
   * stopped VM (no memory changes while it is written), so the VM would
   * arrive paused; a `cont` while the snapshot still loads makes QEMU start
   * it the moment loading ends instead.
   */
  async runRestored(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let continued = false
    for (;;) {
      const status = await this.status()
      if (status === 'running') return
      if (status === 'paused' || status === 'postmigrate' || (status === 'inmigrate' && !continued)) {
        await this.resume()
        continued = true
      } else if (status !== 'inmigrate' && status !== 'prelaunch') {
        throw new VmError(`restored VM is ${status}`)
      }
      if (Date.now() > deadline) throw new VmError('the snapshot did not load in time')
      await sleep(2)
    }
  }

  /**
   * Stops QEMU: asks it to quit, and kills it when it has not gone within
   * `timeoutMs`. The guest gets no shutdown: its writable layer is memory,
   * and the disks it writes are flushed by the guest agent before a planned
   * stop. Idempotent.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.alive()) {
      if (this.control === undefined) {
        killQuietly(this.pid, 'SIGTERM')
      } else {
        await this.control.execute('quit').catch((error: unknown) => {
          if (!(error instanceof QmpError)) throw error
        })
      }
      const deadline = Date.now() + timeoutMs
      while (this.alive() && Date.now() < deadline) await sleep(20)
      if (this.alive()) killQuietly(this.pid)
      while (this.alive()) await sleep(20)
    }
    this.control?.close()
    await Promise.all([this.layout.pidFile, this.layout.qmpSocket, this.layout.agentSocket, ...this.layout.spareAgentSockets].map((path) => rm(path, { force: true })))
  }

}

/** A QEMU we started ourselves and that exited stays a zombie until reaped; it runs no VM. */
function isZombie(pid: number): boolean {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return false
  }
  // The state follows the command name in parentheses, which may hold spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
  return state === 'Z' || state === 'X'
}

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone.
  }
}
