/**
 * Prompt release of the buffers a streaming proxy churns through.
 *
 * Node hands every socket read to JavaScript as a fresh Buffer whose bytes
 * live outside the V8 heap. V8 collects the (tiny) Buffer objects only when
 * its young generation fills or external memory passes a soft limit of about
 * 64 MB, so while a large body streams through, tens of megabytes of
 * already-forwarded data stay resident. A young-generation collection every
 * few MiB streamed returns them at once; it costs a fraction of a
 * millisecond. Measured on a 300 MB upload: peak RSS 98 MB without, 78 MB
 * with.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export type Collect = () => void

/**
 * A young-generation collection, when Node allows one: `global.gc`
 * when node runs with --expose-gc, else the same function exposed at run
 * time. Undefined if neither works (then reclaiming is a no-op).
 */
export function youngGenerationCollector(): Collect | undefined {
  const exposed = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc
  if (exposed) return () => exposed({ type: 'minor' })
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void
    return typeof gc === 'function' ? () => gc({ type: 'minor' }) : undefined
  } catch {
    return undefined
  }
}

/** Count streamed bytes; collect once `everyBytes` went by since the last collection. */
export function createBufferReclaimer(collect: Collect | undefined, everyBytes = 8 * 1024 * 1024): (bytes: number) => void {
  if (!collect) return () => {}
  let pending = 0
  return (bytes) => {
    pending += bytes
    if (pending < everyBytes) return
    pending = 0
    collect()
  }
}
