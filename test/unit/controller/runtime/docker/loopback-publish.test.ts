import { describe, expect, it } from 'vitest'
import { BUNDLE_SERVICES } from '../../../../../controller/plan/bundle-services.js'
import { containerCreateOptions } from '../../../../../controller/runtime/docker/container-options.js'
import { loopbackPortBindings, publishedLoopbackAddress } from '../../../../../controller/runtime/docker/loopback-publish.js'
import { dockerNames } from '../../../../../controller/runtime/docker/names.js'
import type { PartSpec } from '../../../../../controller/runtime/driver.js'

const ports = Object.values(BUNDLE_SERVICES).map((s) => s.port)
const names = dockerNames('default', 'dev')
const spec: PartSpec = { image: 'img:1', env: {}, mounts: [], init: true, hash: 'h', aliases: ['egress'] }
const publish = { address: '127.0.0.17', ports }

describe('loopbackPortBindings', () => {
  it('the sidecars part: exactly the bundle\'s ports, each on the Agent\'s address with its own number', () => {
    const bound = loopbackPortBindings('sidecars', publish)
    expect(ports).toEqual([8888, 9420, 9100])
    expect(bound).toEqual({
      ExposedPorts: { '8888/tcp': {}, '9100/tcp': {}, '9420/tcp': {} },
      PortBindings: {
        '8888/tcp': [{ HostIp: '127.0.0.17', HostPort: '8888' }],
        '9100/tcp': [{ HostIp: '127.0.0.17', HostPort: '9100' }],
        '9420/tcp': [{ HostIp: '127.0.0.17', HostPort: '9420' }],
      },
    })
  })

  it('the agent part: nothing', () => {
    expect(loopbackPortBindings('agent', publish)).toBeUndefined()
  })

  it('never on a wildcard or non-loopback address', () => {
    expect(() => loopbackPortBindings('sidecars', { address: '0.0.0.0', ports })).toThrow(/not a loopback address/)
    expect(() => loopbackPortBindings('sidecars', { address: '', ports })).toThrow(/not a loopback address/)
    expect(() => loopbackPortBindings('sidecars', { address: '192.168.1.5', ports })).toThrow(/not a loopback address/)
  })
})

describe('containerCreateOptions with publishing', () => {
  it('the sidecars container publishes the bundle\'s ports on the Agent\'s address and nowhere else', () => {
    const options = containerCreateOptions({ instance: 'default', agent: 'dev', part: 'sidecars', spec, names, publish })
    const bindings = options.HostConfig?.PortBindings as Record<string, Array<{ HostIp: string; HostPort: string }>>
    expect(Object.keys(bindings).sort()).toEqual(['8888/tcp', '9100/tcp', '9420/tcp'])
    const all = Object.entries(bindings).flatMap(([key, list]) => list.map((b) => ({ key, ...b })))
    expect(all.every((b) => b.HostIp === '127.0.0.17' && `${b.HostPort}/tcp` === b.key)).toBe(true)
    expect(JSON.stringify(options)).not.toContain('0.0.0.0')
    expect(Object.keys(options.ExposedPorts ?? {}).sort()).toEqual(['8888/tcp', '9100/tcp', '9420/tcp'])
  })

  it('the agent part\'s options are exactly what they are without publishing', () => {
    const without = containerCreateOptions({ instance: 'default', agent: 'dev', part: 'agent', spec, names })
    const withPublish = containerCreateOptions({ instance: 'default', agent: 'dev', part: 'agent', spec, names, publish })
    expect(withPublish).toEqual(without)
    expect(withPublish.HostConfig?.PortBindings).toBeUndefined()
    expect(withPublish.ExposedPorts).toBeUndefined()
  })

  it('without publishing, the sidecars container publishes nothing', () => {
    const options = containerCreateOptions({ instance: 'default', agent: 'dev', part: 'sidecars', spec, names })
    expect(options.HostConfig?.PortBindings).toBeUndefined()
    expect(options.ExposedPorts).toBeUndefined()
  })
})

describe('publishedLoopbackAddress', () => {
  it('reads back the address loopbackPortBindings published on', () => {
    expect(publishedLoopbackAddress(loopbackPortBindings('sidecars', publish)!.PortBindings, ports)).toBe('127.0.0.17')
  })

  it('nothing for a container made without publishing, or published otherwise', () => {
    expect(publishedLoopbackAddress(undefined, ports)).toBeUndefined()
    expect(publishedLoopbackAddress({}, ports)).toBeUndefined()
    const partial = { '8888/tcp': [{ HostIp: '127.0.0.17', HostPort: '8888' }] }
    expect(publishedLoopbackAddress(partial, ports)).toBeUndefined()
    const wildcard = Object.fromEntries(ports.map((p) => [`${p}/tcp`, [{ HostIp: '0.0.0.0', HostPort: String(p) }]]))
    expect(publishedLoopbackAddress(wildcard, ports)).toBeUndefined()
    const renumbered = Object.fromEntries(ports.map((p) => [`${p}/tcp`, [{ HostIp: '127.0.0.17', HostPort: String(p + 1) }]]))
    expect(publishedLoopbackAddress(renumbered, ports)).toBeUndefined()
  })
})
