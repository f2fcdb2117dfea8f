import { describe, expect, it } from 'vitest'
import { dockerNames } from '../../../../../controller/runtime/docker/names.js'
import {
  egressNetworkOptions,
  internalNetworkIsIsolated,
  internalNetworkOptions,
  ISOLATION_RECIPE,
} from '../../../../../controller/runtime/docker/network-options.js'

const names = dockerNames('default', 'dev')

describe('network options', () => {
  it('makes the internal network internal, without a host address, on the given subnet', () => {
    expect(internalNetworkOptions('default', 'dev', names, '10.213.0.16/28')).toMatchObject({
      Name: 'bottle-dev-internal',
      Internal: true,
      EnableIPv6: false,
      Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.213.0.16/28' }] },
      Labels: { 'bottle.dev/role': 'network-internal', 'bottle.dev/isolation': ISOLATION_RECIPE },
    })
  })

  it('makes the egress network a plain bridge with Docker choosing the subnet', () => {
    const options = egressNetworkOptions('default', 'dev', names)
    expect(options).toMatchObject({ Name: 'bottle-dev-egress', Internal: false, Labels: { 'bottle.dev/role': 'network-egress' } })
    expect(options.IPAM).toBeUndefined()
  })

  const cases: Array<{ name: string; network: Parameters<typeof internalNetworkIsIsolated>[0]; want: boolean }> = [
    { name: 'the current recipe', network: internalNetworkOptions('default', 'dev', names), want: true },
    { name: 'no recipe label (an older driver)', network: { Internal: true, Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' }, Labels: {} }, want: false },
    { name: 'a host address on the bridge', network: { Internal: true, Options: {}, Labels: { 'bottle.dev/isolation': ISOLATION_RECIPE } }, want: false },
    { name: 'not internal', network: { Internal: false, Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' }, Labels: { 'bottle.dev/isolation': ISOLATION_RECIPE } }, want: false },
    { name: 'no options at all', network: { Internal: true, Options: null, Labels: null }, want: false },
  ]
  it.each(cases)('internalNetworkIsIsolated: $name -> $want', ({ network, want }) => {
    expect(internalNetworkIsIsolated(network)).toBe(want)
  })
})
