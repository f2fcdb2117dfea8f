/**
 * Small subnets for the internal networks, chosen by the driver.
 *
 * Left to Docker, every network takes a /16 or /20 from the engine's default
 * pools, which hold about thirty networks in all: with two per Agent, the
 * sixteenth Agent would fail. An internal network needs room for two
 * containers only, and (because its bridge carries no host address) its
 * subnet never becomes a route on the host, so a /28 from a private pool
 * costs nothing outside the Agent's own containers. Egress networks stay
 * with Docker's allocator, which also avoids the host's own routes.
 */
import { createHash } from 'node:crypto'
import { BlockList, isIPv4 } from 'node:net'

export const DEFAULT_INTERNAL_POOL = '10.213.0.0/16'
export const INTERNAL_PREFIX = 28

export interface Cidr {
  network: number
  prefix: number
}

function toNumber(address: string): number {
  return address.split('.').reduce((value, part) => value * 256 + Number(part), 0)
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.')
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText] = text.split('/')
  if (address === undefined || prefixText === undefined || !isIPv4(address) || !/^\d{1,2}$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  if (prefix > 32) return undefined
  const size = 2 ** (32 - prefix)
  return { network: Math.floor(toNumber(address) / size) * size, prefix }
}

export function formatCidr(cidr: Cidr): string {
  return `${toAddress(cidr.network)}/${cidr.prefix}`
}

/** Two IPv4 subnets overlap when either holds the other's first address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const list = new BlockList()
  list.addSubnet(toAddress(a.network), a.prefix, 'ipv4')
  if (list.check(toAddress(b.network), 'ipv4')) return true
  const other = new BlockList()
  other.addSubnet(toAddress(b.network), b.prefix, 'ipv4')
  return other.check(toAddress(a.network), 'ipv4')
}

/**
 * The first block of `prefix` bits in `pool` that overlaps none of `taken`.
 * The search starts at a block derived from `seed` (the network's name), so
 * Agents created at the same moment by concurrent reconciles rarely reach
 * for the same block. Undefined when the pool is full.
 */
export function freeSubnet(pool: Cidr, prefix: number, taken: Cidr[], seed: string): Cidr | undefined {
  if (prefix < pool.prefix) return undefined
  const blocks = 2 ** (prefix - pool.prefix)
  const size = 2 ** (32 - prefix)
  const start = createHash('sha256').update(seed).digest().readUInt32BE(0) % blocks
  for (let step = 0; step < blocks; step += 1) {
    const candidate = { network: pool.network + ((start + step) % blocks) * size, prefix }
    if (!taken.some((used) => overlaps(candidate, used))) return candidate
  }
  return undefined
}
