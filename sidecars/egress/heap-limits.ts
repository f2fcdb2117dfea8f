/**
 * Imported first by main.ts, so V8's heap limits are set before the rest of
 * the bundle loads and allocates: the young generation capped
 * (young-generation.ts) and the old generation's growth fixed
 * (old-generation.ts). BOTTLE_EGRESS_YOUNG_GENERATION=grow and
 * BOTTLE_EGRESS_OLD_GENERATION=grow leave V8's defaults.
 */
import { limitOldGenerationGrowth } from './old-generation.js'
import { capYoungGeneration } from './young-generation.js'

if (process.env.BOTTLE_EGRESS_YOUNG_GENERATION !== 'grow') capYoungGeneration()
if (process.env.BOTTLE_EGRESS_OLD_GENERATION !== 'grow') limitOldGenerationGrowth()
