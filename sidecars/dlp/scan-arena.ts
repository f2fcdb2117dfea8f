/**
 * Memory for the byte views a scan makes (`charBytesOf`), taken from one
 * buffer that outlives the scan. A long body gets a view of itself and of
 * its normalization, each as long as the body; freshly allocated, every
 * such view costs the kernel a page fault per 4 KiB on first touch, which
 * on virtual machines is more than the passes that read it. Views handed
 * out during a scan stay valid until the outermost scan returns; nothing
 * the engine returns holds one.
 *
 * Bounds: the arena holds at most ARENA_MAX_BYTES (a scan needing more gets
 * fresh memory for the rest, as without an arena), and an arena larger than
 * ARENA_IDLE_KEEP_BYTES is let go once no scan has used it for
 * ARENA_IDLE_MS, so an idle sidecar keeps little.
 */
import { Buffer } from 'node:buffer'

export const ARENA_MAX_BYTES = 64 * 1024 * 1024
const ARENA_IDLE_KEEP_BYTES = 1024 * 1024
const ARENA_IDLE_MS = 30_000
const ALIGN = 8

let arena: Buffer | undefined
let used = 0
/** Bytes asked for during the last scan, so the next arena can hold them all. */
let wanted = 0
let wantedLast = 0
let depth = 0
let lastUse = 0
let releaseTimer: NodeJS.Timeout | undefined
/** Counts outermost scans, so what is remembered about a view can be tied to the scan that made it. */
let scans = 0

/** The running scan's number (each outermost scan gets the next), or 0 outside a scan. */
export function currentScan(): number {
  return depth > 0 ? scans : 0
}

/** Runs one scan; byte views taken during it are given back when the outermost scan returns. */
export function duringScan<T>(scan: () => T): T {
  if (depth++ === 0) scans++
  try {
    return scan()
  } finally {
    if (--depth === 0) endScan()
  }
}

function endScan(): void {
  used = 0
  wantedLast = wanted
  wanted = 0
  if (!arena || arena.length <= ARENA_IDLE_KEEP_BYTES) return
  lastUse = Date.now()
  releaseTimer ??= setTimeout(releaseIfIdle, ARENA_IDLE_MS).unref()
}

function releaseIfIdle(): void {
  releaseTimer = undefined
  const idle = Date.now() - lastUse
  if (idle >= ARENA_IDLE_MS) arena = undefined
  else releaseTimer = setTimeout(releaseIfIdle, ARENA_IDLE_MS - idle).unref()
}

/** `length` bytes, contents undefined: from the arena during a scan, fresh outside one or past its bound. */
export function scanBytes(length: number): Buffer {
  if (depth === 0 || length > ARENA_MAX_BYTES) return Buffer.allocUnsafeSlow(length)
  const taken = length + ((ALIGN - (length % ALIGN)) % ALIGN)
  wanted += taken
  // Views handed out earlier in this scan live in the current arena: only a scan's first view may replace it.
  if (used === 0 && (!arena || arena.length < Math.min(ARENA_MAX_BYTES, Math.max(taken, wantedLast)))) {
    arena = Buffer.allocUnsafeSlow(Math.min(ARENA_MAX_BYTES, Math.max(2 * taken, wantedLast, ARENA_IDLE_KEEP_BYTES)))
  }
  if (!arena || used + taken > arena.length) return Buffer.allocUnsafeSlow(length)
  const start = used
  used += taken
  return arena.subarray(start, start + length)
}
