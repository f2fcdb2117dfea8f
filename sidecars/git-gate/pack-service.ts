/**
 * Running git's own services for one HTTP request, streaming both ways:
 *
 *   advertise:  git upload-pack|receive-pack --stateless-rpc --advertise-refs <mirror>
 *   rpc:        git upload-pack|receive-pack --stateless-rpc <mirror>
 *
 * Request bodies arrive as git sends them (Content-Length or chunked, plain
 * or gzip) and are decoded and counted on the way to git's stdin: past
 * `maxRequestBytes` of decoded bytes the service is stopped (SIGTERM, so git
 * removes its quarantine), the rest of the upload is read and dropped, and
 * the caller answers. git's stdout is the response body; the response starts
 * with git's first byte, so a git that fails before writing anything can
 * still be answered with a proper refusal. No shell is involved anywhere:
 * ref names and paths only ever travel inside git's own protocol or argv.
 */
import { spawn } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough, type Transform } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { GateRejection } from './gate-rejection.js'
import { FLUSH, pktLine } from './pkt-line.js'
import { readReceiveCommands, type ReceiveCommands } from './receive-pack-request.js'
import { firstErrorLine, killGroup, runGit } from './run-git.js'
import type { GitService } from './route-request.js'

export interface ServiceTarget {
  service: GitService
  repoDir: string
  env: Readonly<Record<string, string>>
  /** `-c key=value` pairs placed before the service name. */
  gitConfig?: readonly string[]
}

/** git's `service=` name without the `git-` prefix is the subcommand. */
function subcommand(service: GitService): string {
  return service === 'git-upload-pack' ? 'upload-pack' : 'receive-pack'
}

function configArgs(target: ServiceTarget): string[] {
  return (target.gitConfig ?? []).flatMap((pair) => ['-c', pair])
}

/** The info/refs answer: the service line (protocol v0/v1 only) and git's ref advertisement. */
export async function advertise(target: ServiceTarget, res: ServerResponse, timeoutMs: number): Promise<{ bytesOut: number }> {
  const result = await runGit([...configArgs(target), subcommand(target.service), '--stateless-rpc', '--advertise-refs', target.repoDir], {
    cwd: target.repoDir,
    env: target.env,
    timeoutMs,
  })
  if (result.code !== 0 || result.timedOut) {
    throw new GateRejection('internal', `git ${subcommand(target.service)} could not list the repository: ${result.timedOut ? 'timed out' : firstErrorLine(result.stderr) || `exit ${result.code}`}`)
  }
  const v2 = target.service === 'git-upload-pack' && /(?:^|:)version=2(?::|$)/.test(target.env.GIT_PROTOCOL ?? '')
  const body = v2 ? result.stdout : Buffer.concat([pktLine(`# service=${target.service}\n`), FLUSH, result.stdout])
  res.writeHead(200, {
    'content-type': `application/x-${target.service}-advertisement`,
    'content-length': body.length,
    'cache-control': 'no-cache, max-age=0, must-revalidate',
    expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
    pragma: 'no-cache',
  })
  res.end(body)
  return { bytesOut: body.length }
}

export type RpcOutcome =
  | { kind: 'served'; bytesIn: number; bytesOut: number; exitCode: number | null; stderr: string; encoding: 'gzip' | 'identity' }
  /** The decoded body went past the cap; the caller answers (commands are known for a readable receive-pack request). */
  | { kind: 'too-large'; bytesIn: number; commands: ReceiveCommands | undefined }
  /** Refused before git wrote anything; the caller sends the rejection. */
  | { kind: 'refused'; rejection: GateRejection; bytesIn: number }
  /** The client went away. */
  | { kind: 'aborted'; bytesIn: number }

export interface RpcLimits {
  maxRequestBytes: number
  /** After the cap, how much more of the upload is read (and dropped) to be able to answer; past it the connection is closed. */
  maxDrainBytes: number
}

const COMMANDS_PREFIX_MAX = 1024 * 1024

/**
 * Stream one stateless-rpc exchange. Resolves when git has exited and the
 * response is finished, or, for `too-large`/`refused`, when the caller may
 * answer (the upload has been drained).
 */
export function serveRpc(target: ServiceTarget, req: IncomingMessage, res: ServerResponse, limits: RpcLimits): Promise<RpcOutcome> {
  return new Promise((resolve) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim()
    let decoder: Transform
    const gzip = encoding === 'gzip' || encoding === 'x-gzip'
    if (gzip) decoder = createGunzip()
    else if (encoding === 'identity' || encoding === '') decoder = new PassThrough()
    else {
      drain(req, limits.maxDrainBytes, () => resolve({ kind: 'refused', bytesIn: 0, rejection: new GateRejection('unsupported-media-type', `unsupported Content-Encoding ${JSON.stringify(encoding.slice(0, 40))}`) }))
      return
    }

    // Its own process group: stopping a push also stops its hook and the hook's upstream push.
    const child = spawn('git', [...configArgs(target), subcommand(target.service), '--stateless-rpc', target.repoDir], {
      cwd: target.repoDir,
      env: target.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      detached: true,
    })
    let bytesIn = 0
    let bytesOut = 0
    let stderr = ''
    let stopped: 'too-large' | 'bad-body' | 'aborted' | undefined
    // The start of a push, kept until the command list is read, to refuse it in the protocol's words.
    let prefix: Buffer | undefined = target.service === 'git-receive-pack' ? Buffer.alloc(0) : undefined
    let prefixDone = prefix === undefined
    let settled = false
    const settle = (outcome: RpcOutcome) => {
      if (settled) return
      settled = true
      resolve(outcome)
    }

    child.stdin.on('error', () => {})
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 16 * 1024) stderr += chunk.toString('utf8')
    })
    child.on('error', (error) => {
      stderr += `fatal: cannot run git: ${error.message}\n`
    })

    const stop = (reason: 'too-large' | 'bad-body' | 'aborted') => {
      if (stopped) return
      stopped = reason
      req.unpipe(decoder)
      decoder.removeAllListeners('data')
      decoder.on('error', () => {})
      decoder.destroy()
      child.stdin.destroy()
      killGroup(child.pid, 'SIGTERM')
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), 2000).unref()
      if (reason === 'aborted') return
      drain(req, limits.maxDrainBytes, () => {
        if (reason === 'too-large') {
          const read = prefix ? readReceiveCommands(prefix) : undefined
          settle({ kind: 'too-large', bytesIn, commands: read?.kind === 'complete' ? read.value : undefined })
        } else {
          settle({ kind: 'refused', bytesIn, rejection: new GateRejection('bad-request', 'the request body is not valid gzip') })
        }
      })
    }

    decoder.on('data', (chunk: Buffer) => {
      if (stopped) return
      bytesIn += chunk.length
      if (bytesIn > limits.maxRequestBytes) return stop('too-large')
      if (!prefixDone && prefix !== undefined) {
        prefix = Buffer.concat([prefix, chunk.subarray(0, COMMANDS_PREFIX_MAX - prefix.length)])
        prefixDone = prefix.length >= COMMANDS_PREFIX_MAX || readReceiveCommands(prefix).kind !== 'incomplete'
      }
      if (!child.stdin.write(chunk)) {
        decoder.pause()
        child.stdin.once('drain', () => decoder.resume())
      }
    })
    decoder.on('end', () => {
      if (!stopped) child.stdin.end()
    })
    decoder.on('error', () => stop('bad-body'))
    req.on('aborted', () => stop('aborted'))
    req.on('error', () => stop('aborted'))
    res.on('close', () => {
      if (!res.writableFinished && !stopped) stop('aborted')
    })
    req.pipe(decoder)

    child.stdout.once('data', (first: Buffer) => {
      if (stopped) return
      res.writeHead(200, {
        'content-type': `application/x-${target.service}-result`,
        'cache-control': 'no-cache, max-age=0, must-revalidate',
      })
      bytesOut += first.length
      res.write(first)
      child.stdout.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length
      })
      child.stdout.pipe(res, { end: false })
    })

    child.on('close', (code) => {
      if (stopped === 'aborted') return settle({ kind: 'aborted', bytesIn })
      if (stopped) return // drain() settles
      if (res.headersSent) {
        res.end()
        return settle({ kind: 'served', bytesIn, bytesOut, exitCode: code, stderr, encoding: gzip ? 'gzip' : 'identity' })
      }
      if (code === 0) {
        // Nothing to say (git's probe request is a bare flush): an empty result.
        res.writeHead(200, { 'content-type': `application/x-${target.service}-result`, 'content-length': 0, 'cache-control': 'no-cache' })
        res.end()
        return settle({ kind: 'served', bytesIn, bytesOut: 0, exitCode: code, stderr, encoding: gzip ? 'gzip' : 'identity' })
      }
      const reason = firstErrorLine(stderr).replace(/^(fatal|error): /, '') || `exit ${code}`
      settle({ kind: 'refused', bytesIn, rejection: new GateRejection('bad-request', `git ${subcommand(target.service)} refused the request: ${reason}`) })
    })
  })
}

/**
 * Read the rest of an upload and drop it, then call `done` (once); past
 * `maxBytes`, or when the client goes away, the connection is closed and
 * `done` is called all the same, so no caller waits forever.
 */
export function drain(req: IncomingMessage, maxBytes: number, onDone: () => void): void {
  let called = false
  const done = () => {
    if (called) return
    called = true
    onDone()
  }
  if (req.readableEnded || req.destroyed) return done()
  let dropped = 0
  const onData = (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > maxBytes) {
      req.off('data', onData)
      req.socket.destroy()
    }
  }
  req.on('data', onData)
  req.once('end', done)
  req.once('close', done)
  req.on('error', () => {})
  req.resume()
}
