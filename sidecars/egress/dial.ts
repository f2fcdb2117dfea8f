/**
 * Name resolution for every connection the proxy opens, with the SSRF check
 * in the only place it cannot be bypassed: between resolving and connecting.
 * A name is resolved once, every address is checked (one refused address
 * refuses the name: a host that answers with both public and private
 * addresses is not to be trusted), and the socket connects to the checked
 * addresses and nothing else, so a DNS answer that changes in between
 * (rebinding) is never used.
 *
 * Node does not call `lookup` for IP literals, so callers check those with
 * `checkLiteral` before connecting.
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import type { LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import type { EgressDenial } from './deny.js'

/** DNS: a name to its addresses. Tests inject a resolver that maps names to loopback origins. */
export type Resolve = (hostname: string) => Promise<string[]>

export const systemResolve: Resolve = async (hostname) => (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address)

/** The policy's address check: undefined when the address may be dialled. */
export type AddressCheck = (address: string) => EgressDenial | undefined

/** Resolve a name (or take a literal) and check every address. Throws EgressDenial on a refused address. */
export async function resolveChecked(host: string, check: AddressCheck, resolve: Resolve): Promise<string[]> {
  const addresses = isIP(host) ? [host] : await resolve(host)
  if (addresses.length === 0) throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND' })
  for (const address of addresses) {
    const denial = check(address)
    if (denial) throw denial
  }
  return addresses
}

export function checkLiteral(host: string, check: AddressCheck): EgressDenial | undefined {
  return isIP(host) ? check(host) : undefined
}

/** A `lookup` for net/tls/http options that resolves and checks on every new connection. */
export function checkedLookup(check: () => AddressCheck, resolve: Resolve): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, check(), resolve).then(
      (addresses) => deliver(addresses, options.all === true, options.family, callback),
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    )
  }
}

/** A `lookup` that answers with addresses checked earlier. */
export function fixedLookup(addresses: readonly string[]): LookupFunction {
  return (_hostname, options, callback) => deliver(addresses, options.all === true, options.family, callback)
}

function deliver(addresses: readonly string[], all: boolean, family: number | string | undefined, callback: Parameters<LookupFunction>[2]): void {
  const wanted = family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : 0
  const entries: LookupAddress[] = addresses
    .map((address) => ({ address, family: isIP(address) }))
    .filter((entry) => wanted === 0 || entry.family === wanted)
  if (entries.length === 0) {
    callback(Object.assign(new Error('no address of the requested family'), { code: 'ENOTFOUND' }) as NodeJS.ErrnoException, '', 0)
    return
  }
  if (all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, entries)
  else callback(null, (entries[0] as LookupAddress).address, (entries[0] as LookupAddress).family)
}
