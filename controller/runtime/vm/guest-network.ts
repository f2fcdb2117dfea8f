/**
 * The micro-VM's network, which is the bundle's ports and nothing else.
 *
 * QEMU's user-mode stack runs with `restrict=on`: the guest can open no
 * connection to the host, its services or the internet, and there is no DNS.
 * The only way out is a `guestfwd` rule per bundle port: a connection from
 * the guest to BUNDLE_GUEST_ADDRESS:<port> makes QEMU start a helper command
 * with the connection on its stdin and stdout, and the helper connects to
 * the bundle on the host side. The bundle's names (egress, git-gate,
 * supervise...) resolve to that address through the guest's /etc/hosts.
 */
import { isIP } from 'node:net'

/** Where the bundle appears inside the guest (slirp's 10.0.2.0/24, away from its .2/.3/.15). */
export const BUNDLE_GUEST_ADDRESS = '10.0.2.100'
/** The guest's own address: slirp's fixed DHCP lease, configured statically by the guest's /init. */
export const GUEST_ADDRESS = '10.0.2.15'

export interface BundleForward {
  /** The port the agent connects to, as it would on the docker runtime. */
  guestPort: number
  /** Where the helper connects on the host side; absent when the helper looks the address up itself at each connection. */
  host?: string
  hostPort: number
}

/**
 * The helper QEMU runs per guest connection, as argv; it gets the
 * connection on stdin/stdout and must connect to `host`:`port`. Default:
 * busybox's nc, a few hundred kilobytes per open connection.
 */
export type ForwardHelper = (host: string | undefined, port: number) => string[]

export function busyboxNcHelper(busybox: string): ForwardHelper {
  return (host, port) => {
    if (host === undefined) throw new RangeError(`the nc helper needs an address for port ${port}`)
    return [busybox, 'nc', host, String(port)]
  }
}

/**
 * A helper that reads the bundle's address from `addressFile` at every
 * connection, so a recreated bundle (a new address) needs no new VM. The
 * script is written by the vm driver (see bundleForwardScript); a missing
 * or empty file makes the connection fail, never go elsewhere.
 */
export function addressFileHelper(script: string): ForwardHelper {
  return (_host, port) => [script, String(port)]
}

/** The host-side script behind addressFileHelper: busybox's nc to the address in `addressFile`, at the port given. */
export function bundleForwardScript(busybox: string, addressFile: string): string {
  for (const path of [busybox, addressFile]) {
    if (!/^[A-Za-z0-9_./@%+=-]+$/.test(path)) throw new RangeError(`${path} has characters a shell would read`)
  }
  return [
    '#!/bin/sh',
    '# One guest connection to a bundle port: QEMU runs this with the connection on stdin and stdout.',
    `address=$(cat ${addressFile} 2>/dev/null) || exit 1`,
    'case "$address" in ""|*[!0-9.]*) exit 1 ;; esac',
    'case "$1" in ""|*[!0-9]*) exit 1 ;; esac',
    `exec ${busybox} nc "$address" "$1"`,
    '',
  ].join('\n')
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`${what} ${port} is not a TCP port`)
}

/**
 * The `-netdev` value. QEMU splits option values at commas and runs the
 * helper through a shell, so every piece is checked to be an address, a
 * number or a path of plain characters: nothing from a spec can inject an
 * option or a shell word.
 */
export function userNetdev(id: string, forwards: readonly BundleForward[], helper: ForwardHelper): string {
  const parts = [`user`, `id=${id}`, 'restrict=on', 'ipv6=off']
  const seen = new Set<number>()
  for (const forward of forwards) {
    checkPort(forward.guestPort, 'guest port')
    checkPort(forward.hostPort, 'host port')
    if (forward.host !== undefined && isIP(forward.host) === 0) throw new RangeError(`forward target ${forward.host} is not an IP address`)
    if (seen.has(forward.guestPort)) throw new RangeError(`guest port ${forward.guestPort} is forwarded twice`)
    seen.add(forward.guestPort)
    const argv = helper(forward.host, forward.hostPort)
    for (const word of argv) {
      if (!/^[A-Za-z0-9_./:@%+=-]+$/.test(word)) throw new RangeError(`forward helper word ${JSON.stringify(word)} is not plain`)
    }
    parts.push(`guestfwd=tcp:${BUNDLE_GUEST_ADDRESS}:${forward.guestPort}-cmd:${argv.join(' ')}`)
  }
  return parts.join(',')
}

/** The guest's /etc/hosts: itself, and every bundle name at the bundle's address. */
export function guestHostsFile(hostname: string, bundleNames: readonly string[]): string {
  const name = /^[A-Za-z0-9.-]+$/
  for (const n of [hostname, ...bundleNames]) {
    if (!name.test(n)) throw new RangeError(`${JSON.stringify(n)} is not a host name`)
  }
  const lines = ['127.0.0.1\tlocalhost', `${GUEST_ADDRESS}\t${hostname}`]
  if (bundleNames.length > 0) lines.push(`${BUNDLE_GUEST_ADDRESS}\t${bundleNames.join(' ')}`)
  return `${lines.join('\n')}\n`
}
