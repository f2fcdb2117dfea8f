import { describe, expect, it } from 'vitest'
import { parseCidr, parseIp, formatIp, type Cidr } from '../../../../sidecars/egress/ip-address.js'
import { checkAddress, classifyAddress } from '../../../../sidecars/egress/ssrf-guard.js'

function classify(text: string): string {
  const address = parseIp(text)
  if (!address) return 'unparseable'
  return classifyAddress(address)?.category ?? 'public'
}

describe('classifyAddress', () => {
  const cases: Array<[string, string]> = [
    // IPv4 special-purpose blocks, one row per block, edges included.
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.63.255.255', 'public'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.0', 'public'],
    ['100.100.100.200', 'metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['172.15.255.255', 'public'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', 'public'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', 'public'],
    ['140.82.112.6', 'public'],
    // IPv6.
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['2001:10::1', 'reserved'],
    ['100::1', 'reserved'],
    ['64:ff9b:1::1', 'private'],
    ['4000::1', 'reserved'],
    ['1::1', 'reserved'],
    ['2606:4700::6810:84e5', 'public'],
    ['2a00:1450:4001:81c::200e', 'public'],
    // IPv6 forms that deliver to an IPv4 address are judged by that address.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:100.64.0.1', 'cgnat'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['::169.254.169.254', 'metadata'],
    ['::a9fe:a9fe', 'metadata'],
    ['::8.8.8.8', 'public'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:808:808::1', 'public'],
    ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
  ]
  it.each(cases)('%s is %s', (address, want) => {
    expect(classify(address)).toBe(want)
  })
})

describe('checkAddress with allowPrivate', () => {
  const cidrs = (...texts: string[]): Cidr[] => texts.map((t) => parseCidr(t) as Cidr)
  const cases = [
    { name: 'public needs no opt-in', address: '8.8.8.8', allow: [], want: true },
    { name: 'private refused by default', address: '10.1.2.3', allow: [], want: false },
    { name: 'private opened by its CIDR', address: '10.1.2.3', allow: ['10.0.0.0/8'], want: true },
    { name: 'private outside the CIDR stays refused', address: '10.1.2.3', allow: ['10.2.0.0/16'], want: false },
    { name: 'CGNAT host opened by /32', address: '100.78.141.42', allow: ['100.78.141.42/32'], want: true },
    { name: 'its neighbour stays refused', address: '100.78.141.43', allow: ['100.78.141.42/32'], want: false },
    { name: 'loopback opened by /32', address: '127.0.0.1', allow: ['127.0.0.1/32'], want: true },
    { name: 'mapped loopback opened by the IPv4 CIDR', address: '::ffff:127.0.0.1', allow: ['127.0.0.1/32'], want: true },
    { name: 'IPv6 loopback is not opened by an IPv4 CIDR', address: '::1', allow: ['127.0.0.1/32'], want: false },
    { name: 'metadata not opened by a broad CIDR', address: '169.254.169.254', allow: ['169.254.0.0/16'], want: false },
    { name: 'metadata opened only by naming it exactly', address: '169.254.169.254', allow: ['169.254.169.254/32'], want: true },
    { name: 'link-local opened by a broad CIDR', address: '169.254.10.10', allow: ['169.254.0.0/16'], want: true },
    { name: 'mapped metadata not opened by a broad CIDR', address: '::ffff:169.254.169.254', allow: ['169.254.0.0/16'], want: false },
    { name: 'IPv6 metadata not opened by fc00::/7', address: 'fd00:ec2::254', allow: ['fc00::/7'], want: false },
    { name: 'IPv6 private opened by its CIDR', address: 'fd12::1', allow: ['fd12::/16'], want: true },
    { name: 'garbage is refused', address: 'not-an-ip', allow: ['0.0.0.0/0'], want: false },
  ]
  it.each(cases)('$name', ({ address, allow, want }) => {
    expect(checkAddress(address, cidrs(...allow)).allowed).toBe(want)
  })
})

describe('parseIp', () => {
  const roundTrips = [
    ['127.0.0.1', '127.0.0.1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
  ]
  it.each(roundTrips)('%s formats as %s', (input, want) => {
    const parsed = parseIp(input)
    expect(parsed && formatIp(parsed)).toBe(want)
  })
  const invalid = ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', '1::2::3', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '12345::', ':1', 'g::1', '1:2:3:4:5:6:7::8:9']
  it.each(invalid)('refuses %j', (input) => {
    expect(parseIp(input)).toBeUndefined()
  })
})
