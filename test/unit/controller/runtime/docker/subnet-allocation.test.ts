import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatCidr, freeSubnet, overlaps, parseCidr, type Cidr } from '../../../../../controller/runtime/docker/subnet-allocation.js'

const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text)
  if (parsed === undefined) throw new Error(`bad test CIDR ${text}`)
  return parsed
}

describe('parseCidr', () => {
  const cases = [
    { input: '10.213.0.0/16', want: '10.213.0.0/16' },
    { input: '10.213.7.9/28', want: '10.213.7.0/28' },
    { input: '255.255.255.255/32', want: '255.255.255.255/32' },
    { input: '0.0.0.0/0', want: '0.0.0.0/0' },
  ]
  it.each(cases)('$input -> $want', ({ input, want }) => {
    expect(formatCidr(cidr(input))).toBe(want)
  })

  it.each(['10.0.0.0', '10.0.0.0/33', 'fd00::/64', '10.0.0/8', '', '10.0.0.0/x'])('refuses %j', (input) => {
    expect(parseCidr(input)).toBeUndefined()
  })
})

describe('overlaps', () => {
  const cases = [
    { a: '10.0.0.0/28', b: '10.0.0.16/28', want: false },
    { a: '10.0.0.0/28', b: '10.0.0.8/29', want: true },
    { a: '10.0.0.0/8', b: '10.213.0.0/28', want: true },
    { a: '172.17.0.0/16', b: '10.213.0.0/16', want: false },
  ]
  it.each(cases)('$a and $b -> $want', ({ a, b, want }) => {
    expect(overlaps(cidr(a), cidr(b))).toBe(want)
    expect(overlaps(cidr(b), cidr(a))).toBe(want)
  })
})

describe('freeSubnet', () => {
  const pool = cidr('10.213.0.0/16')

  it('is stable for one name and differs between names', () => {
    const first = freeSubnet(pool, 28, [], 'bottle-dev-internal')
    expect(freeSubnet(pool, 28, [], 'bottle-dev-internal')).toEqual(first)
    expect(freeSubnet(pool, 28, [], 'bottle-other-internal')).not.toEqual(first)
  })

  it('returns undefined when the pool is full', () => {
    expect(freeSubnet(cidr('10.0.0.0/27'), 28, [cidr('10.0.0.0/27')], 'x')).toBeUndefined()
    expect(freeSubnet(cidr('10.0.0.0/28'), 27, [], 'x')).toBeUndefined()
  })

  it('finds the last free block of a nearly full pool', () => {
    const taken = [cidr('10.0.0.0/28'), cidr('10.0.0.16/28'), cidr('10.0.0.48/28')]
    expect(formatCidr(freeSubnet(cidr('10.0.0.0/26'), 28, taken, 'anything')!)).toBe('10.0.0.32/28')
  })

  it('never returns a block outside the pool or overlapping a taken subnet', () => {
    const takenSubnet = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 20, max: 30 }))
      .map(([third, fourth, prefix]) => cidr(`10.213.${third}.${fourth}/${prefix}`))
    fc.assert(
      fc.property(fc.array(takenSubnet, { maxLength: 40 }), fc.string(), (taken, seed) => {
        const found = freeSubnet(pool, 28, taken, seed)
        if (found === undefined) return
        expect(overlaps(found, pool)).toBe(true)
        expect(found.prefix).toBe(28)
        expect(taken.filter((used) => overlaps(found, used))).toEqual([])
      }),
    )
  })
})
