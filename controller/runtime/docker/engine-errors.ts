/**
 * Turns dockerode's errors into DriverErrors with one line a person can act
 * on. The engine's own message is kept (first line) and the original error
 * is the cause.
 */
import { DriverError } from '../driver.js'

interface EngineErrorShape {
  statusCode?: number
  code?: string
  reason?: string
  message?: string
  json?: { message?: string } | null
}

export function statusCodeOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? (error as EngineErrorShape).statusCode : undefined
}

function engineMessage(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error)
  const shape = error as EngineErrorShape
  const text = shape.json?.message ?? shape.message ?? shape.reason ?? 'unknown engine error'
  return text.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').split('\n')[0]?.trim() ?? text
}

function hintFor(error: unknown, message: string): string {
  const code = typeof error === 'object' && error !== null ? (error as EngineErrorShape).code : undefined
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') {
    return ' (cannot reach the Docker engine: is dockerd running, and may this user use its socket? scripts/ensure-docker-engine starts one)'
  }
  if (/could not find an available, non-overlapping IPv4 address pool/i.test(message)) {
    return ' (each Agent uses two networks; widen "default-address-pools" in the engine\'s daemon.json)'
  }
  if (/unknown or invalid runtime name/i.test(message)) return ' (the engine does not have this OCI runtime installed)'
  return ''
}

export function engineError(operation: string, object: string, error: unknown): DriverError {
  if (error instanceof DriverError) return error
  const message = engineMessage(error)
  return new DriverError('docker', operation, object, `${message}${hintFor(error, message)}`, { cause: error })
}
