import { describe, expect, it } from 'vitest'
import type { BottleSpec } from '../../../../controller/spec/generated/spec-types.js'
import { resolveExtends } from '../../../../controller/spec/resolve-extends.js'

const specs = (entries: Record<string, BottleSpec>) => new Map(Object.entries(entries))

describe('resolveExtends', () => {
  it('resolves a chain root first and records it', () => {
    const { resolved, problems } = resolveExtends(specs({ base: { env: { A: '1' } }, mid: { extends: 'base', env: { B: '1' } }, leaf: { extends: 'mid' } }))
    expect(problems).toEqual([])
    expect(resolved.get('leaf')).toEqual({ spec: { env: { A: '1', B: '1' } }, chain: ['base', 'mid', 'leaf'] })
  })

  const cases = [
    { name: 'self-reference', input: { a: { extends: 'a' } }, bottle: 'a', code: 'extends-self', message: 'extends itself; remove the extends line' },
    { name: 'two-bottle cycle', input: { a: { extends: 'b' }, b: { extends: 'a' } }, bottle: 'a', code: 'extends-cycle', message: 'extends cycle: a -> b -> a' },
    { name: 'longer cycle', input: { a: { extends: 'b' }, b: { extends: 'c' }, c: { extends: 'a' } }, bottle: 'c', code: 'extends-cycle', message: 'extends cycle: c -> a -> b -> c' },
    { name: 'missing parent names the chain', input: { a: { extends: 'b' }, b: { extends: 'nope' } }, bottle: 'a', code: 'extends-missing', message: 'extends "nope", which is not defined (chain: a -> b -> nope)' },
  ] as const
  it.each(cases)('$name is reported with the chain', ({ input, bottle, code, message }) => {
    const { resolved, problems } = resolveExtends(specs(input as Record<string, BottleSpec>))
    expect(resolved.has(bottle)).toBe(false)
    expect(problems).toContainEqual(expect.objectContaining({ bottle, code, message }))
  })

  it('suggests a close name for a missing parent', () => {
    const { problems } = resolveExtends(specs({ base: {}, dev: { extends: 'bsae' } }))
    expect(problems).toEqual([{ bottle: 'dev', code: 'extends-missing', message: 'extends "bsae", which is not defined (chain: dev -> bsae)', hint: 'did you mean "base"?' }])
  })

  it('a cycle elsewhere does not break unrelated bottles', () => {
    const { resolved } = resolveExtends(specs({ a: { extends: 'b' }, b: { extends: 'a' }, ok: { env: { X: '1' } } }))
    expect(resolved.get('ok')?.spec).toEqual({ env: { X: '1' } })
  })
})
