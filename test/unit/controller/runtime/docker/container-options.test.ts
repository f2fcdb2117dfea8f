import { describe, expect, it } from 'vitest'
import type { PartSpec } from '../../../../../controller/runtime/driver.js'
import { containerCreateOptions } from '../../../../../controller/runtime/docker/container-options.js'
import { dockerNames } from '../../../../../controller/runtime/docker/names.js'

const names = dockerNames('default', 'dev')

function spec(overrides: Partial<PartSpec> = {}): PartSpec {
  return { image: 'img:1', env: { A: '1' }, mounts: [], init: true, hash: 'h', ...overrides }
}

describe('containerCreateOptions for the agent part', () => {
  const options = containerCreateOptions({
    instance: 'default',
    agent: 'dev',
    part: 'agent',
    names,
    spec: spec({
      mounts: [
        { kind: 'workspace', target: '/home/agent/workspace' },
        { kind: 'bind', source: '/srv/cfg', target: '/etc/bottle/agent', readOnly: true },
      ],
      resources: { cpus: 1.5, memoryMiB: 512 },
      command: ['claude'],
      workdir: '/home/agent/workspace',
    }),
  })

  it('is named, labelled and attached to the internal network only', () => {
    expect(options.name).toBe('bottle-dev-agent')
    expect(options.Labels).toEqual({
      'bottle.dev/managed': 'true',
      'bottle.dev/instance': 'default',
      'bottle.dev/agent': 'dev',
      'bottle.dev/role': 'agent',
      'bottle.dev/spec-hash': 'h',
    })
    expect(options.HostConfig?.NetworkMode).toBe('bottle-dev-internal')
    expect(Object.keys(options.NetworkingConfig?.EndpointsConfig ?? {})).toEqual(['bottle-dev-internal'])
    expect(options.NetworkingConfig?.EndpointsConfig?.['bottle-dev-internal']?.Aliases).toBeUndefined()
  })

  it('keeps only the capabilities the entrypoint needs and forbids regaining any', () => {
    expect(options.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN', 'KILL', 'SETUID', 'SETGID'],
      SecurityOpt: ['no-new-privileges:true'],
      Init: true,
      PidsLimit: 4096,
    })
    expect(options.HostConfig?.CapAdd).not.toContain('NET_RAW')
    expect(options.HostConfig?.CapAdd).not.toContain('NET_ADMIN')
  })

  it('keeps DNS lookups inside the box and IPv6 off', () => {
    expect(options.HostConfig?.Dns).toEqual(['127.0.0.1'])
    expect(options.HostConfig?.DnsOptions).toEqual(['timeout:1', 'attempts:1'])
    expect(options.HostConfig?.Sysctls).toEqual({ 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' })
  })

  it('maps mounts, resources, command, workdir and env', () => {
    expect(options.HostConfig?.Mounts).toEqual([
      { Type: 'volume', Source: 'bottle-dev-workspace', Target: '/home/agent/workspace', ReadOnly: false },
      { Type: 'bind', Source: '/srv/cfg', Target: '/etc/bottle/agent', ReadOnly: true },
    ])
    expect(options.HostConfig).toMatchObject({ NanoCpus: 1_500_000_000, Memory: 512 * 1024 * 1024, MemorySwap: 512 * 1024 * 1024 })
    expect(options).toMatchObject({ Cmd: ['claude'], WorkingDir: '/home/agent/workspace', Env: ['A=1'], Hostname: 'dev' })
    expect(options.User).toBeUndefined()
  })
})

describe('containerCreateOptions for the sidecars part', () => {
  const options = containerCreateOptions({
    instance: 'ci',
    agent: 'dev',
    part: 'sidecars',
    names: dockerNames('ci', 'dev'),
    spec: spec({ user: '1000:1000', aliases: ['egress', 'git-gate', 'api.internal', 'egress'] }),
  })

  it('answers to the names the spec gives it, once each, and to no name of its own making', () => {
    expect(options.NetworkingConfig?.EndpointsConfig?.['bottle-ci-dev-internal']?.Aliases).toEqual(['egress', 'git-gate', 'api.internal'])
  })

  it('runs as the given user with no capabilities and the engine resolver', () => {
    expect(options.User).toBe('1000:1000')
    expect(options.HostConfig).toMatchObject({ CapDrop: ['ALL'], CapAdd: [], SecurityOpt: ['no-new-privileges:true'], PidsLimit: 1024 })
    expect(options.HostConfig?.Dns).toBeUndefined()
    expect(options.HostConfig?.Sysctls).toBeUndefined()
    expect(options.Hostname).toBeUndefined()
  })
})

describe('containerCreateOptions and the init', () => {
  const cases = [
    { name: 'a spec that asks for an init gets Docker\'s', init: true },
    { name: 'a spec that does not runs its command as PID 1', init: false },
  ]
  it.each(cases)('$name', ({ init }) => {
    const options = containerCreateOptions({ instance: 'default', agent: 'dev', part: 'sidecars', names, spec: spec({ init }) })
    expect(options.HostConfig?.Init).toBe(init)
  })
})

describe('containerCreateOptions and the OCI runtime', () => {
  const cases = [
    { name: 'engine default', ociRuntime: undefined, want: { Runtime: undefined, sysctls: true } },
    { name: 'runc', ociRuntime: 'runc', want: { Runtime: 'runc', sysctls: true } },
    // gVisor refuses most sysctls; its netstack has no IPv6 route out anyway.
    { name: 'runsc', ociRuntime: 'runsc', want: { Runtime: 'runsc', sysctls: false } },
  ]
  it.each(cases)('$name', ({ ociRuntime, want }) => {
    const options = containerCreateOptions({ instance: 'default', agent: 'dev', part: 'agent', names, spec: spec(), ...(ociRuntime ? { ociRuntime } : {}) })
    expect(options.HostConfig?.Runtime).toBe(want.Runtime)
    expect(options.HostConfig?.Sysctls !== undefined).toBe(want.sysctls)
  })
})
