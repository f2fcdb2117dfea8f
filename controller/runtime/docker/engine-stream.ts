/**
 * Reading the engine's JSON progress streams (build, import) and small
 * existence checks that must tell "absent" from "engine unreachable".
 */
import type Dockerode from 'dockerode'

interface ProgressEvent {
  stream?: string
  status?: string
  id?: string
  error?: string
  errorDetail?: { message?: string }
}

export class EngineStreamError extends Error {
  override readonly name = 'EngineStreamError'
  constructor(
    message: string,
    /** The last `Step n/m : ...` line seen before the error, when there was one. */
    readonly step: string | undefined,
  ) {
    super(message)
  }
}

/**
 * Follows a build or import stream to its end, passing each output line on.
 * Rejects with the engine's own error (first line) when the build failed.
 */
export function followBuildStream(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  let step: string | undefined
  let failure: string | undefined
  return new Promise((resolve, reject) => {
    let buffer = ''
    const handle = (event: ProgressEvent): void => {
      if (typeof event.error === 'string') {
        failure ??= event.errorDetail?.message ?? event.error
        return
      }
      const text = event.stream ?? (event.status !== undefined ? `${event.id ? `${event.id}: ` : ''}${event.status}` : undefined)
      if (text === undefined) return
      for (const line of text.split('\n')) {
        const trimmed = line.trimEnd()
        if (trimmed === '') continue
        if (/^Step \d+\/\d+ : /.test(trimmed)) step = trimmed
        onLine(trimmed)
      }
    }
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString()
      let newline: number
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim()
        buffer = buffer.slice(newline + 1)
        if (line === '') continue
        try {
          handle(JSON.parse(line) as ProgressEvent)
        } catch {
          handle({ stream: line })
        }
      }
    })
    stream.on('error', (error: Error) => reject(new EngineStreamError(error.message, step)))
    stream.on('end', () => {
      if (buffer.trim() !== '') {
        try {
          handle(JSON.parse(buffer) as ProgressEvent)
        } catch {
          handle({ stream: buffer })
        }
      }
      if (failure !== undefined) reject(new EngineStreamError(failure.split('\n')[0] ?? failure, step))
      else resolve()
    })
  })
}

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: unknown }).statusCode === 404
}

export async function imageExists(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect()
    return true
  } catch (error) {
    if (isNotFound(error)) return false
    throw error
  }
}
