import { didYouMean } from './did-you-mean.js'
import type { SpecErrorCode } from './errors.js'
import type { BottleSpec } from './generated/spec-types.js'
import { resolveChain } from './merge-bottle-specs.js'

export interface ExtendsProblem {
  bottle: string
  code: SpecErrorCode
  message: string
  hint?: string
}

export interface ExtendsResult {
  /** Effective specs of every bottle whose whole chain is valid, with the chain (root first). */
  resolved: Map<string, { spec: Omit<BottleSpec, 'extends'>; chain: string[] }>
  problems: ExtendsProblem[]
}

/**
 * Resolves `extends` for every bottle. Cycles, self-reference and missing
 * parents are reported on each bottle they break, naming the chain; a bottle
 * whose ancestor is broken is reported too, pointing at that ancestor.
 */
export function resolveExtends(specs: ReadonlyMap<string, BottleSpec>): ExtendsResult {
  const resolved: ExtendsResult['resolved'] = new Map()
  const problems: ExtendsProblem[] = []

  for (const name of specs.keys()) {
    const chain: string[] = [name]
    let current = specs.get(name)!
    let problem: ExtendsProblem | undefined
    while (current.extends !== undefined) {
      const parent = current.extends
      const at = chain[chain.length - 1]!
      if (parent === at) {
        problem = { bottle: name, code: 'extends-self', message: `extends itself; remove the extends line` }
        break
      }
      if (chain.includes(parent)) {
        problem = { bottle: name, code: 'extends-cycle', message: `extends cycle: ${[...chain, parent].join(' -> ')}` }
        break
      }
      const next = specs.get(parent)
      if (!next) {
        const guess = didYouMean(parent, specs.keys())
        problem = {
          bottle: name,
          code: 'extends-missing',
          message: `extends "${parent}", which is not defined (chain: ${[...chain, parent].join(' -> ')})`,
          ...(guess ? { hint: `did you mean "${guess}"?` } : {}),
        }
        break
      }
      chain.push(parent)
      current = next
    }
    if (problem) {
      problems.push(problem)
      continue
    }
    const rootFirst = [...chain].reverse()
    resolved.set(name, { spec: resolveChain(rootFirst.map((n) => specs.get(n)!)), chain: rootFirst })
  }
  return { resolved, problems }
}
