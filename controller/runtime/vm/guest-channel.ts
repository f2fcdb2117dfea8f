/**
 * The host side of the guest agent's channel: a client of the Unix socket
 * QEMU serves for the `bottle.agent` virtio-serial port. It waits for the
 * guest agent to answer, runs commands in the guest (argv, env, cwd, user,
 * stdin) and collects their output and exit code, delivers signals, and
 * hands the guest its identity (hosts file, hostname, clock, RNG seed).
 *
 * Several commands run at once over the one port, told apart by request id.
 * QEMU accepts one client per socket, so one controller owns a box's channel
 * at a time; a restarted controller connects again and finds the guest agent
 * (and the commands it still runs) where it left them.
 */
import { randomBytes } from 'node:crypto'
import { PassThrough, type Readable } from 'node:stream'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import type { ExecResult } from '../driver.js'
import { encodeFrame, FrameDecoder } from './frames.js'

const guestMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number(), uptimeMs: z.number() }),
  z.object({ type: z.literal('pong'), id: z.string(), pid: z.number(), uptimeMs: z.number() }),
  z.object({ type: z.literal('started'), id: z.string(), pid: z.number() }),
  z.object({ type: z.literal('stdout'), id: z.string(), data: z.string() }),
  z.object({ type: z.literal('stderr'), id: z.string(), data: z.string() }),
  z.object({ type: z.literal('exit'), id: z.string(), code: z.number(), signal: z.string().optional() }),
  z.object({ type: z.literal('ok'), id: z.string() }),
  z.object({ type: z.literal('file'), id: z.string(), data: z.string() }),
  z.object({ type: z.literal('resized'), id: z.string(), error: z.string().optional() }),
  z.object({ type: z.literal('error'), id: z.string().optional(), message: z.string() }),
])
type GuestMessage = z.infer<typeof guestMessage>

export interface GuestExecOptions {
  env?: Record<string, string>
  cwd?: string
  /** "uid[:gid]" or a user name from the guest's /etc/passwd; absent means root. */
  user?: string
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | Buffer
  /** Aborting kills the command (SIGKILL) and rejects. */
  signal?: AbortSignal
}

export interface GuestStartOptions {
  env?: Record<string, string>
  cwd?: string
  user?: string
  /** Runs the command on a terminal of this size; its stderr then arrives merged into stdout. */
  tty?: { columns: number; rows: number }
}

export interface GuestExit {
  code: number
  /** The signal that ended the command, when one did. */
  signal?: string
}

/**
 * A command running in the guest, streamed: its stdin stays open until
 * `end()`, its output arrives as it is written. What `bottle attach`
 * sessions and a box's main process are built on.
 */
export interface GuestProcess {
  readonly stdout: Readable
  readonly stderr: Readable
  /** Resolves when the command ends; rejects when the channel is lost first (the command may live on). */
  readonly exit: Promise<GuestExit>
  write(data: string | Buffer): void
  /** Closes the command's stdin. */
  end(): void
  signal(signal: NodeJS.Signals): void
  /** Resizes the command's terminal (tty commands only); it gets SIGWINCH. */
  resize(columns: number, rows: number): Promise<void>
  /** Stops listening; the command keeps running in the guest. */
  detach(): void
}

export interface GuestMount {
  /** The disk's serial, as given to QEMU (VmDisk.serial). */
  serial: string
  target: string
  readOnly?: boolean
}

export interface GuestIdentity {
  /** ext4 disks to mount (before anything else, so the box's files are there). Already mounted ones are left alone. */
  mounts?: GuestMount[]
  /** The whole /etc/hosts (the bundle's names and the guest's own). */
  hosts?: string
  hostname?: string
  /** Wall clock to set, in ms since the epoch: a restored snapshot's clock is the snapshot's. */
  timeMs?: number
  /** Mixed into the guest's entropy pool, so boxes restored from one snapshot diverge. */
  seed?: Buffer
}

export interface GuestFile {
  /** Absolute path in the guest; missing folders are created. */
  path: string
  data: string | Buffer
  mode?: number
  uid?: number
  gid?: number
}

export interface ConnectOptions {
  /** How long to wait for the guest agent's first answer (a cold TCG boot takes a few seconds). */
  readyTimeoutMs?: number
  /** How often to ask while waiting. */
  pingIntervalMs?: number
  /** Gives up waiting (the VM is gone, or the caller lost interest). */
  signal?: AbortSignal
  /**
   * Closes the connection once nothing has waited on it for this long, so
   * a long-lived process that only visits a box (a test, the dashboard)
   * gives the port back. Absent: open until close().
   */
  closeWhenIdleMs?: number
  /**
   * Runs once the socket is connected, before the first ping. A restored
   * VM is continued here (see QemuVm.connectRestored), so its guest wakes up
   * with the port already connected.
   */
  afterConnect?: () => Promise<void>
  /**
   * Resolves once the socket is connected (and afterConnect has run)
   * instead of at the guest agent's first answer, for a guest known to be
   * running its agent (one restored from a snapshot of a ready one).
   * Requests go out at once behind a ping, so the guest's first answer and
   * its first real work overlap; if the ping is not answered within
   * readyTimeoutMs the channel fails, and every request on it with it.
   */
  pipelined?: boolean
}

interface Pending {
  onMessage(message: GuestMessage): void
  onClose(error: Error): void
}

export class GuestChannelError extends Error {
  override readonly name = 'GuestChannelError'
}

/**
 * The requests waiting for the guest, which also decide whether the socket
 * holds the process open: only while something waits, so a command that
 * connected to a box exits when its work is done, without closing first.
 */
class PendingRequests extends Map<string, Pending> {
  #idle: NodeJS.Timeout | undefined

  constructor(
    private readonly socket: Socket,
    private readonly onIdle?: { afterMs: number; close(): void },
  ) {
    super()
    socket.unref()
  }

  override set(id: string, pending: Pending): this {
    super.set(id, pending)
    this.socket.ref()
    clearTimeout(this.#idle)
    return this
  }

  override delete(id: string): boolean {
    const deleted = super.delete(id)
    if (this.size === 0) {
      this.socket.unref()
      const onIdle = this.onIdle
      if (onIdle) {
        clearTimeout(this.#idle)
        this.#idle = setTimeout(() => onIdle.close(), onIdle.afterMs).unref()
      }
    }
    return deleted
  }
}

export class GuestChannel {
  private readonly pending: PendingRequests
  private readonly decoder = new FrameDecoder()
  private closedWith: Error | undefined

  private constructor(
    private readonly socket: Socket,
    closeWhenIdleMs?: number,
  ) {
    this.pending = new PendingRequests(socket, closeWhenIdleMs === undefined ? undefined : { afterMs: closeWhenIdleMs, close: () => this.close() })
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (error) => this.fail(new GuestChannelError(`guest channel failed: ${error.message}`)))
    socket.on('close', () => this.fail(new GuestChannelError('guest channel closed')))
  }

  /**
   * Connects to the port's socket and waits until the guest agent answers a
   * ping. The socket appears when QEMU starts, long before the guest agent
   * runs; pings sent before then wait in the port and are answered late,
   * which is harmless.
   */
  static async connect(socketPath: string, options: ConnectOptions = {}): Promise<GuestChannel> {
    const readyTimeoutMs = options.readyTimeoutMs ?? 60_000
    const pingIntervalMs = options.pingIntervalMs ?? 100
    const deadline = Date.now() + readyTimeoutMs
    const socket = await connectSocket(socketPath, deadline, options.signal)
    const channel = new GuestChannel(socket, options.closeWhenIdleMs)
    const onAbort = (): void => channel.close()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await options.afterConnect?.()
      if (options.pipelined === true) channel.expectAnswer(deadline)
      else await channel.waitForAnswer(deadline, pingIntervalMs)
    } catch (error) {
      channel.close()
      throw error
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
    return channel
  }

  private async waitForAnswer(deadline: number, pingIntervalMs: number): Promise<void> {
    const id = this.newId()
    let answered = false
    const answer = new Promise<void>((resolve, reject) => {
      this.pending.set(id, {
        onMessage: (message) => {
          if (message.type !== 'pong') return
          answered = true
          resolve()
        },
        onClose: reject,
      })
    })
    answer.catch(() => undefined)
    try {
      while (!answered) {
        if (this.closedWith !== undefined) throw this.closedWith
        if (Date.now() > deadline) throw new GuestChannelError('the guest agent did not answer in time')
        this.write({ id, op: 'ping' })
        await Promise.race([answer, sleep(pingIntervalMs)])
      }
    } finally {
      this.pending.delete(id)
    }
  }

  /** Sends one ping without waiting for it; the channel fails when no answer comes by `deadline`. */
  private expectAnswer(deadline: number): void {
    const id = this.newId()
    const late = setTimeout(() => {
      this.socket.destroy()
      this.fail(new GuestChannelError('the guest agent did not answer in time'))
    }, Math.max(0, deadline - Date.now())).unref()
    this.pending.set(id, {
      onMessage: (message) => {
        if (message.type !== 'pong') return
        clearTimeout(late)
        this.pending.delete(id)
      },
      onClose: () => clearTimeout(late),
    })
    this.write({ id, op: 'ping' })
  }

  /** Round trip to the guest agent, for readiness checks of a running box. */
  async ping(timeoutMs = 5_000): Promise<void> {
    await this.waitForAnswer(Date.now() + timeoutMs, timeoutMs)
  }

  async exec(argv: string[], options: GuestExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new GuestChannelError('exec needs a non-empty argv')
    options.signal?.throwIfAborted()
    const id = this.newId()
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    return await new Promise<ExecResult>((resolve, reject) => {
      const onAbort = (): void => {
        this.write({ id, op: 'signal', signal: 'SIGKILL' })
        finish()
        reject(options.signal?.reason ?? new Error('aborted'))
      }
      const finish = (): void => {
        this.pending.delete(id)
        options.signal?.removeEventListener('abort', onAbort)
      }
      this.pending.set(id, {
        onMessage: (message) => {
          switch (message.type) {
            case 'stdout':
              stdout.push(Buffer.from(message.data, 'base64'))
              return
            case 'stderr':
              stderr.push(Buffer.from(message.data, 'base64'))
              return
            case 'exit':
              finish()
              resolve({
                exitCode: message.code,
                stdout: Buffer.concat(stdout).toString('utf8'),
                stderr: Buffer.concat(stderr).toString('utf8'),
              })
              return
            case 'error':
              finish()
              reject(new GuestChannelError(`exec ${argv[0]}: ${message.message}`))
              return
            default:
              return
          }
        },
        onClose: (error) => {
          finish()
          reject(error)
        },
      })
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.write({
        id,
        op: 'exec',
        argv,
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.user === undefined ? {} : { user: options.user }),
        ...(options.stdin === undefined ? {} : { stdin: Buffer.from(options.stdin).toString('base64') }),
      })
    })
  }

  /** Starts a command and streams it (see GuestProcess). */
  start(argv: string[], options: GuestStartOptions = {}): GuestProcess {
    if (argv.length === 0) throw new GuestChannelError('start needs a non-empty argv')
    const id = this.newId()
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const resizes: Array<{ resolve(): void; reject(error: Error): void }> = []
    let settle: { resolve(exit: GuestExit): void; reject(error: Error): void } | undefined
    const exit = new Promise<GuestExit>((resolve, reject) => {
      settle = { resolve, reject }
    })
    // A caller that only streams output may never await the exit.
    exit.catch(() => undefined)
    const finish = (): void => {
      this.pending.delete(id)
      stdout.end()
      stderr.end()
      for (const waiter of resizes.splice(0)) waiter.reject(new GuestChannelError('the command ended'))
    }
    this.pending.set(id, {
      onMessage: (message) => {
        switch (message.type) {
          case 'stdout':
            stdout.write(Buffer.from(message.data, 'base64'))
            return
          case 'stderr':
            stderr.write(Buffer.from(message.data, 'base64'))
            return
          case 'resized': {
            const waiter = resizes.shift()
            if (message.error === undefined) waiter?.resolve()
            else waiter?.reject(new GuestChannelError(`resize: ${message.error}`))
            return
          }
          case 'exit':
            finish()
            settle?.resolve({ code: message.code, ...(message.signal === undefined ? {} : { signal: message.signal }) })
            return
          case 'error':
            finish()
            settle?.reject(new GuestChannelError(`start ${argv[0]}: ${message.message}`))
            return
          default:
            return
        }
      },
      onClose: (error) => {
        finish()
        settle?.reject(error)
      },
    })
    this.write({
      id,
      op: 'exec',
      argv,
      keepStdinOpen: true,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.user === undefined ? {} : { user: options.user }),
      ...(options.tty === undefined ? {} : { tty: options.tty }),
    })
    const send = (message: Record<string, unknown>): void => {
      if (this.pending.has(id)) this.write({ id, ...message })
    }
    return {
      stdout,
      stderr,
      exit,
      write: (data) => send({ op: 'stdin', data: Buffer.from(data).toString('base64') }),
      end: () => send({ op: 'stdin', eof: true }),
      signal: (signal) => send({ op: 'signal', signal }),
      resize: async (columns, rows) => {
        if (!this.pending.has(id)) throw new GuestChannelError('the command has ended')
        await new Promise<void>((resolve, reject) => {
          resizes.push({ resolve, reject })
          send({ op: 'resize', columns, rows })
        })
      },
      detach: () => {
        finish()
        settle?.reject(new GuestChannelError('detached'))
      },
    }
  }

  /** Sets the guest's hosts file, hostname, clock and entropy; resolves once the guest applied all of it. */
  async configure(identity: GuestIdentity): Promise<void> {
    await this.request('configure', {
      ...(identity.mounts === undefined ? {} : { mounts: identity.mounts }),
      ...(identity.hosts === undefined ? {} : { hosts: identity.hosts }),
      ...(identity.hostname === undefined ? {} : { hostname: identity.hostname }),
      ...(identity.timeMs === undefined ? {} : { timeMs: identity.timeMs }),
      ...(identity.seed === undefined ? {} : { seed: identity.seed.toString('base64') }),
    })
  }

  /** Flushes the guest's writes to its disks; call before stopping a VM whose disks matter. */
  async sync(): Promise<void> {
    await this.request('sync', {})
  }

  /** Writes files into the guest, each atomically (the frame limit bounds one call to a few MiB). */
  async putFiles(files: readonly GuestFile[]): Promise<void> {
    await this.request('put', {
      files: files.map((file) => ({
        path: file.path,
        data: Buffer.from(file.data).toString('base64'),
        ...(file.mode === undefined ? {} : { mode: file.mode }),
        ...(file.uid === undefined ? {} : { uid: file.uid }),
        ...(file.gid === undefined ? {} : { gid: file.gid }),
      })),
    })
  }

  /** Reads one file from the guest. */
  async readFile(path: string): Promise<Buffer> {
    const id = this.newId()
    return await new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, {
        onMessage: (message) => {
          this.pending.delete(id)
          if (message.type === 'file') resolve(Buffer.from(message.data, 'base64'))
          else if (message.type === 'error') reject(new GuestChannelError(`read ${path}: ${message.message}`))
        },
        onClose: reject,
      })
      this.write({ id, op: 'get', path })
    })
  }

  /** Sends one request that the guest answers with `ok` or `error`. */
  private async request(op: string, fields: Record<string, unknown>): Promise<void> {
    const id = this.newId()
    await new Promise<void>((resolve, reject) => {
      this.pending.set(id, {
        onMessage: (message) => {
          this.pending.delete(id)
          if (message.type === 'ok') resolve()
          else if (message.type === 'error') reject(new GuestChannelError(`${op}: ${message.message}`))
        },
        onClose: reject,
      })
      this.write({ id, op, ...fields })
    })
  }

  close(): void {
    this.socket.destroy()
    this.fail(new GuestChannelError('guest channel closed'))
  }

  private newId(): string {
    return randomBytes(6).toString('hex')
  }

  private write(message: Record<string, unknown>): void {
    if (this.closedWith !== undefined) throw this.closedWith
    this.socket.write(encodeFrame(message))
  }

  private onData(chunk: Buffer): void {
    let messages: unknown[]
    try {
      messages = this.decoder.push(chunk)
    } catch (error) {
      this.socket.destroy()
      this.fail(new GuestChannelError(`guest channel sent garbage: ${(error as Error).message}`))
      return
    }
    for (const raw of messages) {
      const parsed = guestMessage.safeParse(raw)
      // Unknown messages come from a newer guest agent; ignoring them keeps old hosts working.
      if (!parsed.success) continue
      const message = parsed.data
      if (!('id' in message) || message.id === undefined) continue
      this.pending.get(message.id)?.onMessage(message)
    }
  }

  /** True once the connection is gone (closed here, by the guest, or idle). */
  get closed(): boolean {
    return this.closedWith !== undefined
  }

  private fail(error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    for (const waiter of [...this.pending.values()]) waiter.onClose(error)
    this.pending.clear()
  }
}

async function connectSocket(path: string, deadline: number, signal?: AbortSignal): Promise<Socket> {
  for (;;) {
    if (signal?.aborted === true) throw new GuestChannelError('gave up connecting to the guest channel')
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect(path)
        socket.once('connect', () => {
          socket.removeAllListeners('error')
          resolve(socket)
        })
        socket.once('error', reject)
      })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // QEMU creates the socket a moment after it starts.
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) {
        throw new GuestChannelError(`cannot connect to the guest channel ${path}: ${(error as Error).message}`)
      }
      await sleep(20)
    }
  }
}
