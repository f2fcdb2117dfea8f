/**
 * Publishing the sidecar bundle's ports on its Agent's loopback address
 * (see ../loopback-addresses.ts): pure, so what a bundle host opens on this
 * host can be read and tested in one place.
 *
 * Each port is published on `<address>:<the same port>`: the guest dials
 * `egress:8888` and the like through its hosts file, so the numbers must
 * not change on the way. Never on 0.0.0.0 (which would open the bundle to
 * the network) and never for the agent part, which must have no way in or
 * out but its bundle.
 */
import type Dockerode from 'dockerode'
import type { PartName } from '../driver.js'
import { isLoopbackAddress } from '../loopback-addresses.js'

/** Where one Agent's bundle is published: its loopback address and the bundle's ports. */
export interface LoopbackPublish {
  address: string
  ports: readonly number[]
}

export interface PublishedPorts {
  ExposedPorts: Record<string, Record<string, never>>
  PortBindings: Dockerode.PortMap
}

/** The container options that publish `publish` for `part`: the sidecars part's ports; nothing for the agent part. */
export function loopbackPortBindings(part: PartName, publish: LoopbackPublish): PublishedPorts | undefined {
  if (part !== 'sidecars') return undefined
  if (!isLoopbackAddress(publish.address)) throw new Error(`"${publish.address}" is not a loopback address; the bundle is published on loopback only`)
  const ExposedPorts: PublishedPorts['ExposedPorts'] = {}
  const PortBindings: Dockerode.PortMap = {}
  for (const port of [...new Set(publish.ports)].sort((a, b) => a - b)) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${port}" is not a port`)
    ExposedPorts[`${port}/tcp`] = {}
    PortBindings[`${port}/tcp`] = [{ HostIp: publish.address, HostPort: String(port) }]
  }
  return { ExposedPorts, PortBindings }
}

/**
 * The loopback address a container's bundle ports are published on, read
 * back from the container itself (so a bundle made before publishing was
 * configured is not taken for a published one): set only when every one of
 * `ports` is bound on the same loopback address with its own number.
 */
export function publishedLoopbackAddress(bindings: Dockerode.PortMap | null | undefined, ports: readonly number[]): string | undefined {
  if (!bindings || ports.length === 0) return undefined
  const addresses = new Set<string>()
  for (const port of ports) {
    const bound = bindings[`${port}/tcp`]
    if (!Array.isArray(bound) || bound.length !== 1) return undefined
    const { HostIp, HostPort } = bound[0] as { HostIp?: string; HostPort?: string }
    if (HostIp === undefined || !isLoopbackAddress(HostIp) || HostPort !== String(port)) return undefined
    addresses.add(HostIp)
  }
  return addresses.size === 1 ? [...addresses][0] : undefined
}
