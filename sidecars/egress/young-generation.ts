/**
 * Keep V8's young generation at its initial size (a 1 MiB semi-space).
 *
 * V8 doubles the young generation whenever a scavenge finds it busy, up to
 * 16 MiB per semi-space (32 MiB of new space, all of it resident once
 * touched). A proxy allocates at a steady rate but keeps little alive: with
 * 16 concurrent 64 KiB bodies the grown young generation was most of the
 * 45 MB the daemon's RSS rose over idle, while what survives a scavenge is
 * a few in-flight requests. The sidecar starts as `node egress.mjs`, with no
 * room for `--max-semi-space-size`, and that flag is only read when the heap
 * is set up; the growth factor is read at each growth, so setting it to 1
 * before the first growth keeps the initial size. Smaller scavenges run more
 * often and cost less each (their cost follows what survives, not what was
 * allocated), so CPU per request stays level (see bench/egress).
 *
 * Imported first by main.ts, so it runs before the rest of the bundle loads.
 */
import { setFlagsFromString } from 'node:v8'

export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1'

if (process.env.BOTTLE_EGRESS_YOUNG_GENERATION !== 'grow') setFlagsFromString(YOUNG_GENERATION_FLAG)
