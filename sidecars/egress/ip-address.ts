/**
 * IP addresses as bytes, and CIDR blocks over them. The SSRF guard and the
 * config validator both need exact, canonical answers ("is this address inside
 * that block?"), so parsing is strict: dotted-quad decimal IPv4 and RFC 4291
 * IPv6 text (with an optional embedded IPv4 tail). Zone ids (`fe80::1%eth0`)
 * are refused: a zone names an interface on this box, never a remote origin.
 */

export type IpFamily = 4 | 6

export interface IpAddress {
  family: IpFamily
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array
}

export interface Cidr {
  /** The network address, with host bits cleared. */
  network: IpAddress
  prefixLength: number
  /** The text it was parsed from, for messages. */
  text: string
}

const IPV4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

export function parseIpv4(text: string): IpAddress | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string
    if (!IPV4_OCTET.test(part)) return undefined
    bytes[i] = Number(part)
  }
  return { family: 4, bytes }
}

const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/

export function parseIpv6(text: string): IpAddress | undefined {
  if (text.includes('%')) return undefined
  const doubleColon = text.indexOf('::')
  if (doubleColon !== -1 && text.indexOf('::', doubleColon + 1) !== -1) return undefined
  const head = doubleColon === -1 ? text : text.slice(0, doubleColon)
  const tail = doubleColon === -1 ? '' : text.slice(doubleColon + 2)
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')

  const words: number[] = []
  const tailWords: number[] = []
  const parseGroups = (groups: string[], into: number[], lastMayBeIpv4: boolean): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i] as string
      if (lastMayBeIpv4 && i === groups.length - 1 && group.includes('.')) {
        const v4 = parseIpv4(group)
        if (!v4) return false
        into.push(((v4.bytes[0] as number) << 8) | (v4.bytes[1] as number))
        into.push(((v4.bytes[2] as number) << 8) | (v4.bytes[3] as number))
        continue
      }
      if (!IPV6_GROUP.test(group)) return false
      into.push(parseInt(group, 16))
    }
    return true
  }
  if (!parseGroups(headGroups, words, doubleColon === -1)) return undefined
  if (!parseGroups(tailGroups, tailWords, true)) return undefined

  if (doubleColon === -1) {
    if (words.length !== 8) return undefined
  } else {
    const missing = 8 - words.length - tailWords.length
    if (missing < 1) return undefined
    for (let i = 0; i < missing; i++) words.push(0)
  }
  words.push(...tailWords)
  const bytes = new Uint8Array(16)
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8
    bytes[i * 2 + 1] = word & 0xff
  })
  return { family: 6, bytes }
}

/** Either family; IPv6 may come wrapped in brackets as it does in URLs. */
export function parseIp(text: string): IpAddress | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  return bare.includes(':') ? parseIpv6(bare) : parseIpv4(bare)
}

export function formatIp(address: IpAddress): string {
  if (address.family === 4) return Array.from(address.bytes).join('.')
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push((((address.bytes[i] as number) << 8) | (address.bytes[i + 1] as number)).toString(16))
  // Compress the longest run of zero words, as RFC 5952 asks.
  let bestStart = -1
  let bestLength = 0
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && words[j] === '0') j++
    if (j - i > bestLength && j - i > 1) { bestStart = i; bestLength = j - i }
    i = j
  }
  if (bestStart === -1) return words.join(':')
  return `${words.slice(0, bestStart).join(':')}::${words.slice(bestStart + bestLength).join(':')}`
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  const address = parseIp(addressText)
  if (!address) return undefined
  const maxLength = address.family === 4 ? 32 : 128
  let prefixLength = maxLength
  if (slash !== -1) {
    const lengthText = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(lengthText)) return undefined
    prefixLength = Number(lengthText)
    if (prefixLength > maxLength) return undefined
  }
  return { network: maskAddress(address, prefixLength), prefixLength, text }
}

function maskAddress(address: IpAddress, prefixLength: number): IpAddress {
  const bytes = new Uint8Array(address.bytes)
  for (let bit = prefixLength; bit < bytes.length * 8; bit++) {
    const index = bit >> 3
    bytes[index] = (bytes[index] as number) & ~(0x80 >> (bit & 7))
  }
  return { family: address.family, bytes }
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.network.family !== address.family) return false
  const fullBytes = cidr.prefixLength >> 3
  for (let i = 0; i < fullBytes; i++) {
    if (cidr.network.bytes[i] !== address.bytes[i]) return false
  }
  const restBits = cidr.prefixLength & 7
  if (restBits === 0) return true
  const mask = (0xff << (8 - restBits)) & 0xff
  return ((cidr.network.bytes[fullBytes] as number) & mask) === ((address.bytes[fullBytes] as number) & mask)
}

/** The IPv4 address an IPv6 address carries in its last 32 bits. */
export function lowIpv4(address: IpAddress): IpAddress {
  return { family: 4, bytes: address.bytes.slice(12, 16) }
}
