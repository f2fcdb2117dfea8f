/**
 * Imported first by main.ts, so the young generation is capped before the
 * rest of the bundle loads and allocates (see young-generation.ts).
 * BOTTLE_EGRESS_YOUNG_GENERATION=grow leaves V8's default growth.
 */
import { capYoungGeneration } from './young-generation.js'

if (process.env.BOTTLE_EGRESS_YOUNG_GENERATION !== 'grow') capYoungGeneration()
