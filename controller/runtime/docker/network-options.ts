/**
 * The two networks of an Agent and what makes the internal one a dead end.
 *
 * Facts about Docker (checked on engine 20.10) this recipe answers:
 *  - `--internal` alone still gives the host an address on the network's
 *    bridge (the gateway, e.g. 172.18.0.1) and containers a default route to
 *    it, so every host service listening on 0.0.0.0 is reachable on the
 *    gateway, on docker0's address and on the host's own addresses (the
 *    packets are local deliveries, which the FORWARD-chain isolation rules
 *    never see).
 *  - `com.docker.network.bridge.inhibit_ipv4=true` keeps the host's bridge
 *    without any IPv4 address: the gateway address belongs to nobody, so
 *    nothing beyond the network's own containers answers. It is a property
 *    of the network, so it survives engine restarts and goes away with the
 *    network (unlike host firewall rules).
 * The container side of the recipe (no NET_RAW/NET_ADMIN to forge frames or
 * routes, DNS that never leaves the box) is in container-options.ts.
 */
import type Dockerode from 'dockerode'
import { LABEL, ownershipLabels, type DockerNames } from './names.js'

/** Bumped whenever the recipe changes, so older networks are replaced. */
export const ISOLATION_RECIPE = 'inhibit-ipv4.v1'

export const INHIBIT_IPV4 = 'com.docker.network.bridge.inhibit_ipv4'

/** `subnet`: the network's own small subnet (see subnet-allocation.ts); absent lets Docker choose. */
export function internalNetworkOptions(instance: string, agent: string, names: DockerNames, subnet?: string): Dockerode.NetworkCreateOptions {
  const options: Dockerode.NetworkCreateOptions = {
    Name: names.internalNetwork,
    Driver: 'bridge',
    Internal: true,
    CheckDuplicate: true,
    EnableIPv6: false,
    Attachable: false,
    Options: {
      [INHIBIT_IPV4]: 'true',
      'com.docker.network.bridge.enable_icc': 'true',
    },
    Labels: { ...ownershipLabels(instance, agent, 'network-internal'), [LABEL.isolation]: ISOLATION_RECIPE },
  }
  if (subnet !== undefined) options.IPAM = { Driver: 'default', Config: [{ Subnet: subnet }] }
  return options
}

export function egressNetworkOptions(instance: string, agent: string, names: DockerNames): Dockerode.NetworkCreateOptions {
  return {
    Name: names.egressNetwork,
    Driver: 'bridge',
    Internal: false,
    CheckDuplicate: true,
    EnableIPv6: false,
    Attachable: false,
    Labels: ownershipLabels(instance, agent, 'network-egress'),
  }
}

interface NetworkFacts {
  Internal?: boolean
  Options?: Record<string, string> | null
  Labels?: Record<string, string> | null
}

/** True when an existing internal network was built with the current recipe. */
export function internalNetworkIsIsolated(network: NetworkFacts): boolean {
  return (
    network.Internal === true &&
    network.Options?.[INHIBIT_IPV4] === 'true' &&
    network.Labels?.[LABEL.isolation] === ISOLATION_RECIPE
  )
}
