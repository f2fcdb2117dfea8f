import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs script without type declarations
import { OUTPUT, readCrds, renderSpecTypes } from '../../../../scripts/generate-spec-types.mjs'

describe('the TypeScript spec types', () => {
  it('are exactly what the CRDs render to (run `npm run generate:types` after editing crds/)', () => {
    const rendered = (renderSpecTypes as (crds: unknown[]) => string)((readCrds as () => unknown[])())
    expect(readFileSync(OUTPUT as string, 'utf8')).toBe(rendered)
  })

  it('carry every kind and the field documentation', () => {
    const text = readFileSync(OUTPUT as string, 'utf8')
    for (const name of ['export interface Bottle {', 'export interface Agent {', 'export interface Proposal {', 'export interface EgressRoute {', 'export interface TokenRef {']) expect(text).toContain(name)
    expect(text).toContain('/** An exact host name or *.suffix')
  })
})
