/**
 * Which addresses the proxy may dial. The agent must not reach the box's own
 * services, the bottle network, the cloud metadata endpoint or anything else
 * that is not the public internet, whether it names the address directly or
 * through a DNS name that resolves there.
 *
 * The rule is an allowlist in disguise: IPv4 outside the special-purpose
 * blocks below, and IPv6 inside global unicast (2000::/3) minus its
 * special-purpose blocks. IPv6 forms that carry an IPv4 address (mapped,
 * compatible, NAT64, 6to4) are judged by the IPv4 address they carry, since
 * that is where the packets end up.
 *
 * `allowPrivate` opens a refused address when a CIDR contains it. Metadata
 * endpoints are stricter: only a CIDR naming exactly that one address opens
 * them, so a broad `10.0.0.0/8`-style opt-in can never expose credentials.
 */
import { cidrContains, lowIpv4, parseCidr, parseIp, type Cidr, type IpAddress } from './ip-address.js'

export type AddressCategory =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'

export type AddressVerdict =
  | { allowed: true; address: IpAddress }
  | { allowed: false; category: AddressCategory; range: string }

interface Block { cidr: Cidr; category: AddressCategory }

function block(text: string, category: AddressCategory): Block {
  const cidr = parseCidr(text)
  if (!cidr) throw new Error(`bad built-in CIDR ${text}`)
  return { cidr, category }
}

/** Checked in order; the first (most specific) match names the category. */
const METADATA: Block[] = [
  block('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OpenStack, Oracle
  block('169.254.170.2/32', 'metadata'), // AWS ECS task credentials
  block('169.254.169.123/32', 'metadata'), // AWS time sync
  block('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  block('fd00:ec2::254/128', 'metadata'), // AWS over IPv6
  block('fd00:ec2::23/128', 'metadata'), // AWS DNS over IPv6
]

const IPV4_BLOCKS: Block[] = [
  ...METADATA.filter((b) => b.cidr.network.family === 4),
  block('0.0.0.0/8', 'unspecified'),
  block('10.0.0.0/8', 'private'),
  block('100.64.0.0/10', 'cgnat'),
  block('127.0.0.0/8', 'loopback'),
  block('169.254.0.0/16', 'link-local'),
  block('172.16.0.0/12', 'private'),
  block('192.0.0.0/24', 'reserved'),
  block('192.0.2.0/24', 'documentation'),
  block('192.88.99.0/24', 'reserved'),
  block('192.168.0.0/16', 'private'),
  block('198.18.0.0/15', 'reserved'),
  block('198.51.100.0/24', 'documentation'),
  block('203.0.113.0/24', 'documentation'),
  block('224.0.0.0/4', 'multicast'),
  block('255.255.255.255/32', 'broadcast'),
  block('240.0.0.0/4', 'reserved'),
]

const IPV6_BLOCKS: Block[] = [
  ...METADATA.filter((b) => b.cidr.network.family === 6),
  block('::/128', 'unspecified'),
  block('::1/128', 'loopback'),
  block('64:ff9b:1::/48', 'private'),
  block('100::/64', 'reserved'),
  block('2001::/32', 'reserved'), // Teredo: the IPv4 inside is obfuscated, so refuse the block whole
  block('2001:db8::/32', 'documentation'),
  block('2001:10::/28', 'reserved'),
  block('2001:20::/28', 'reserved'),
  block('3fff::/20', 'documentation'),
  block('fc00::/7', 'private'),
  block('fe80::/10', 'link-local'),
  block('fec0::/10', 'private'),
  block('ff00::/8', 'multicast'),
]

const GLOBAL_UNICAST = block('2000::/3', 'reserved').cidr

/** IPv6 blocks whose addresses deliver to an embedded IPv4 address. */
const IPV4_CARRIERS: Array<{ cidr: Cidr; extract: (a: IpAddress) => IpAddress }> = [
  { cidr: parseCidr('::ffff:0:0/96') as Cidr, extract: lowIpv4 }, // IPv4-mapped
  { cidr: parseCidr('::/96') as Cidr, extract: lowIpv4 }, // IPv4-compatible (deprecated)
  { cidr: parseCidr('64:ff9b::/96') as Cidr, extract: lowIpv4 }, // NAT64 well-known prefix
  { cidr: parseCidr('2002::/16') as Cidr, extract: (a) => ({ family: 4, bytes: a.bytes.slice(2, 6) }) }, // 6to4
]

export interface AddressClass {
  category: AddressCategory
  range: string
}

/** The special-purpose block an address belongs to, or undefined for a public address. */
export function classifyAddress(address: IpAddress): AddressClass | undefined {
  if (address.family === 4) return firstMatch(IPV4_BLOCKS, address)
  const special = firstMatch(IPV6_BLOCKS, address)
  if (special) return special
  for (const carrier of IPV4_CARRIERS) {
    if (cidrContains(carrier.cidr, address)) {
      const inner = classifyAddress(carrier.extract(address))
      return inner ? { category: inner.category, range: `${inner.range} via ${carrier.cidr.text}` } : undefined
    }
  }
  if (!cidrContains(GLOBAL_UNICAST, address)) return { category: 'reserved', range: 'outside 2000::/3' }
  return undefined
}

function firstMatch(blocks: Block[], address: IpAddress): AddressClass | undefined {
  const hit = blocks.find((b) => cidrContains(b.cidr, address))
  return hit && { category: hit.category, range: hit.cidr.text }
}

/** The address whose block decides, for IPv6 forms that deliver to IPv4. */
function effectiveAddress(address: IpAddress): IpAddress {
  if (address.family === 6) {
    for (const carrier of IPV4_CARRIERS) {
      if (cidrContains(carrier.cidr, address) && !isUnspecifiedOrLoopback6(address)) return carrier.extract(address)
    }
  }
  return address
}

function isUnspecifiedOrLoopback6(address: IpAddress): boolean {
  return address.bytes.slice(0, 15).every((b) => b === 0) && (address.bytes[15] as number) <= 1
}

/**
 * May the proxy dial this address? `allowPrivate` CIDRs are compared with the
 * address as dialled and with the IPv4 address it carries, so
 * `127.0.0.1/32` also opens `::ffff:127.0.0.1`.
 */
export function checkAddress(text: string, allowPrivate: readonly Cidr[]): AddressVerdict {
  const address = parseIp(text)
  if (!address) return { allowed: false, category: 'reserved', range: 'unparseable address' }
  const found = classifyAddress(address)
  if (!found) return { allowed: true, address }
  const candidates = [address, effectiveAddress(address)]
  const opened = allowPrivate.some((cidr) =>
    candidates.some((candidate) => {
      if (!cidrContains(cidr, candidate)) return false
      if (found.category !== 'metadata') return true
      return cidr.prefixLength === (candidate.family === 4 ? 32 : 128)
    }),
  )
  return opened ? { allowed: true, address } : { allowed: false, category: found.category, range: found.range }
}
