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
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export type Collect = () => void

/**
 * A young-generation collection, when the runtime allows one: `global.gc`
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

export interface BufferReclaimerOptions {
  /** Bytes streamed between checks. */
  everyBytes?: number
  /** A check collects only when memory outside the V8 heap is at least this. */
  externalFloorBytes?: number
  /** Memory held outside the V8 heap (Buffers' bytes among it), read at each check. */
  externalBytes?: () => number
}

/**
 * Count streamed bytes; once `everyBytes` went by since the last check,
 * collect if external memory is at or above the floor. Under many small
 * requests the proxy's own allocations fill the young generation every few
 * MiB, V8's scavenges free the buffers on their own, and a forced one would
 * only add a pause: in the egress benchmark's 64 KiB scenarios external
 * memory stays at 4-14 MB and no check collects (127 did before). A long
 * stream allocates little besides its buffers, so external memory climbs
 * until a check collects: 20 downloads of 16 MiB peak at 94 MB RSS, against
 * 91-98 MB collecting at every check and 102-116 MB never collecting.
 */
export function createBufferReclaimer(collect: Collect | undefined, options: BufferReclaimerOptions = {}): (bytes: number) => void {
  if (!collect) return () => {}
  const everyBytes = options.everyBytes ?? 8 * 1024 * 1024
  const floor = options.externalFloorBytes ?? 16 * 1024 * 1024
  const externalBytes = options.externalBytes ?? (() => getHeapStatistics().external_memory)
  let pending = 0
  return (bytes) => {
    pending += bytes
    if (pending < everyBytes) return
    pending = 0
    if (externalBytes() >= floor) collect()
  }
}
