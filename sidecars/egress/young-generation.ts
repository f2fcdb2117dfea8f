/**
 * Hold V8's young generation near a 2 MiB semi-space (V8's own cap is 16 MiB).
 *
 * V8 doubles the young generation whenever a scavenge finds much of it
 * alive, up to 16 MiB per semi-space (32 MiB of new space, resident once
 * touched). A proxy allocates at a steady rate but keeps little alive, so
 * the grown young generation is a large part of the rise in RSS under load.
 * Smaller is not free: scavenges come more often, and the buffers of
 * requests still in flight survive two of them and move to the old
 * generation. Measured through the proxy (16 connections; GC share of the
 * proxy's CPU, peak RSS):
 *
 *   semi-space   64 B bodies      64 KiB bodies
 *   1 MiB        7.4%  78 MB      7.0%  97 MB
 *   2 MiB        4.1%  77 MB      5.4%  86 MB
 *   4 MiB        2.9%  80 MB      3.5%  94 MB
 *   16 MiB       2.3%  86 MB      2.9%  106 MB   (V8's default)
 *
 * The proxy sets the cap itself rather than relying on
 * `--max-semi-space-size` on its command line (read only when the heap is
 * set up), so it holds however egress.mjs is started. The growth factor is
 * read at every growth, so after each collection the factor is set to 1
 * (no growth) at or above the cap and back to 2 below it (V8 shrinks the
 * young generation when allocation slows). A growth can slip past the
 * check only when two scavenges that both grow fall in one event-loop
 * turn; the worst case is V8's default.
 */
import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'

/** The semi-space size at which growth stops. */
export const MAX_SEMI_SPACE_BYTES = 2 * 1024 * 1024

/** V8 reports the new space as both semi-spaces together. */
export function semiSpaceBytes(): number {
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  return (newSpace?.space_size ?? 0) / 2
}

/** Keep the young generation from growing past `maxSemiSpaceBytes`; returns a function that stops. */
export function capYoungGeneration(maxSemiSpaceBytes: number = MAX_SEMI_SPACE_BYTES): () => void {
  let growing: boolean | undefined
  const check = () => {
    const grow = semiSpaceBytes() < maxSemiSpaceBytes
    if (grow === growing) return
    growing = grow
    setFlagsFromString(grow ? '--semi-space-growth-factor=2' : '--semi-space-growth-factor=1')
  }
  check()
  const observer = new PerformanceObserver(check)
  observer.observe({ entryTypes: ['gc'] })
  return () => {
    observer.disconnect()
    setFlagsFromString('--semi-space-growth-factor=2')
  }
}
