/**
 * The event stream of a driver whose events come from several places: its
 * own changes (an emitter), its bundle's engine, and a watcher that notices
 * what nobody changed (a VM killed from outside, a process that ended).
 * Events are yielded in the order they arrive, until `signal` aborts; the
 * sources are awaited before the stream ends.
 */
import type { EventEmitter } from 'node:events'
import type { PartEvent } from './driver.js'

/** A source of events: pushes them until `signal` aborts. */
export type EventSource = (signal: AbortSignal, push: (event: PartEvent) => void) => Promise<void>

/** The name under which a driver's own changes are emitted on its emitter. */
export const PART_EVENT = 'event'

export async function* mergedEvents(signal: AbortSignal, own: EventEmitter, sources: readonly EventSource[]): AsyncIterable<PartEvent> {
  const queue: PartEvent[] = []
  let wake: (() => void) | undefined
  const push = (event: PartEvent): void => {
    queue.push(event)
    wake?.()
  }
  own.on(PART_EVENT, push)
  // A source that fails stops adding events; the others go on.
  const running = sources.map((source) => source(signal, push).catch(() => undefined))
  const onAbort = (): void => wake?.()
  signal.addEventListener('abort', onAbort)
  try {
    while (!signal.aborted) {
      const next = queue.shift()
      if (next) {
        yield next
        continue
      }
      await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    own.off(PART_EVENT, push)
    await Promise.all(running)
  }
}

/** The events of a driver's `bundle`, as a source. */
export function bundleEvents(bundle: { events(signal: AbortSignal): AsyncIterable<PartEvent> }): EventSource {
  return async (signal, push) => {
    for await (const event of bundle.events(signal)) push(event)
  }
}
