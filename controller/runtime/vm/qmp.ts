/**
 * A minimal client of the QEMU Machine Protocol: newline-delimited JSON over
 * the VM's QMP Unix socket. The controller uses it to ask whether a VM runs,
 * to stop it, and to save and restore snapshots; QEMU sends events (SHUTDOWN,
 * MIGRATION...) on the same stream.
 */
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface QmpEvent {
  event: string
  data?: Record<string, unknown>
}

export class QmpError extends Error {
  override readonly name = 'QmpError'
}

interface Waiter {
  resolve(value: unknown): void
  reject(error: Error): void
}

export class QmpClient {
  private buffered = ''
  private nextId = 1
  private readonly waiters = new Map<string, Waiter>()
  private readonly listeners = new Set<(event: QmpEvent) => void>()
  private greeted: Waiter | undefined
  private closedWith: Error | undefined

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.onData(chunk))
    socket.on('error', (error) => this.fail(new QmpError(`QMP socket failed: ${error.message}`)))
    socket.on('close', () => this.fail(new QmpError('QMP socket closed')))
  }

  /**
   * Connects (retrying every `retryMs` while QEMU creates the socket), reads
   * the greeting and enters command mode. `signal` stops the retrying.
   */
  static async connect(path: string, timeoutMs = 10_000, options: { retryMs?: number; signal?: AbortSignal } = {}): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      options.signal?.throwIfAborted()
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path)
          s.once('connect', () => {
            s.removeAllListeners('error')
            resolve(s)
          })
          s.once('error', reject)
        })
        const client = new QmpClient(socket)
        try {
          await client.handshake(deadline)
        } catch (error) {
          // QEMU serves one QMP client at a time: a connection left open here would lock every later one out.
          client.close()
          throw error
        }
        // Held for a VM's whole life, it must not keep a process alive that is otherwise done (a stopped controller).
        socket.unref()
        return client
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        // EAGAIN: QEMU's listen backlog is full while another client is being let go.
        if ((code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'EAGAIN') || Date.now() > deadline) {
          throw new QmpError(`cannot connect to QMP at ${path}: ${(error as Error).message}`, { cause: error })
        }
        await sleep(options.retryMs ?? 20)
      }
    }
  }

  private async handshake(deadline: number): Promise<void> {
    const greeting = new Promise<unknown>((resolve, reject) => {
      this.greeted = { resolve, reject }
    })
    const timer = setTimeout(() => this.fail(new QmpError('no QMP greeting')), Math.max(0, deadline - Date.now()))
    try {
      await greeting
    } finally {
      clearTimeout(timer)
    }
    await this.execute('qmp_capabilities')
  }

  /** Runs one command; resolves with its `return` value, rejects with its `error`. */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedWith !== undefined) throw this.closedWith
    const id = String(this.nextId++)
    const reply = new Promise<unknown>((resolve, reject) => this.waiters.set(id, { resolve, reject }))
    this.socket.ref()
    this.socket.write(`${JSON.stringify({ execute: command, ...(args === undefined ? {} : { arguments: args }), id })}\n`)
    try {
      return await reply
    } finally {
      if (this.waiters.size === 0) this.socket.unref()
    }
  }

  /** Calls `listener` for every event until the returned function is called. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  close(): void {
    this.socket.destroy()
    this.fail(new QmpError('QMP client closed'))
  }

  get closed(): boolean {
    return this.closedWith !== undefined
  }

  private onData(chunk: string): void {
    this.buffered += chunk
    let newline: number
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline).trim()
      this.buffered = this.buffered.slice(newline + 1)
      if (line === '') continue
      let message: Record<string, unknown>
      try {
        message = JSON.parse(line) as Record<string, unknown>
      } catch {
        continue
      }
      this.dispatch(message)
    }
  }

  private dispatch(message: Record<string, unknown>): void {
    if ('QMP' in message) {
      this.greeted?.resolve(message)
      this.greeted = undefined
      return
    }
    if (typeof message.event === 'string') {
      const event: QmpEvent = { event: message.event, ...(isRecord(message.data) ? { data: message.data } : {}) }
      for (const listener of this.listeners) listener(event)
      return
    }
    const id = typeof message.id === 'string' ? message.id : undefined
    const waiter = id === undefined ? undefined : this.waiters.get(id)
    if (id === undefined || waiter === undefined) return
    this.waiters.delete(id)
    if ('error' in message) {
      const error = isRecord(message.error) ? message.error : {}
      waiter.reject(new QmpError(`${String(error.class ?? 'Error')}: ${String(error.desc ?? 'unknown error')}`))
    } else {
      waiter.resolve(message.return)
    }
  }

  private fail(error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    this.greeted?.reject(error)
    for (const waiter of this.waiters.values()) waiter.reject(error)
    this.waiters.clear()
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
