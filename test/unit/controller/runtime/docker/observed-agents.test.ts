import { describe, expect, it } from 'vitest'
import { exitCodeFromStatus, groupObserved } from '../../../../../controller/runtime/docker/observed-agents.js'
import { ISOLATION_RECIPE } from '../../../../../controller/runtime/docker/network-options.js'
import { ownershipLabels } from '../../../../../controller/runtime/docker/names.js'

const labels = (agent: string, role: Parameters<typeof ownershipLabels>[2], extra: Record<string, string> = {}, instance = 'ci') => ({
  ...ownershipLabels(instance, agent, role),
  ...extra,
})

function container(agent: string, role: 'agent' | 'sidecars', state: string, status: string, extra: Record<string, string> = {}, instance = 'ci') {
  const name = `bottle-${instance}-${agent}-${role}`
  return {
    Id: `${name}-id`,
    Names: [`/${name}`],
    Image: `img-${role}:1`,
    State: state,
    Status: status,
    Labels: labels(agent, role, { 'bottle.dev/spec-hash': `${role}-hash`, ...extra }, instance),
    NetworkSettings: { Networks: { [`bottle-${instance}-${agent}-internal`]: { IPAddress: '10.213.0.2' } } },
  }
}

const isolatedInternal = (agent: string) => ({
  Name: `bottle-ci-${agent}-internal`,
  Internal: true,
  Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
  Labels: labels(agent, 'network-internal', { 'bottle.dev/isolation': ISOLATION_RECIPE }),
})
const egress = (agent: string) => ({ Name: `bottle-ci-${agent}-egress`, Internal: false, Options: {}, Labels: labels(agent, 'network-egress') })
const workspace = (agent: string) => ({ Name: `bottle-ci-${agent}-workspace`, Labels: labels(agent, 'workspace') })

describe('groupObserved', () => {
  it('groups parts, networks and the volume by agent, sorted by name', () => {
    const observed = groupObserved(
      'ci',
      [container('zed', 'agent', 'running', 'Up 1 minute'), container('dev', 'sidecars', 'exited', 'Exited (137) 2 minutes ago')],
      [isolatedInternal('dev'), egress('dev')],
      [workspace('dev')],
    )
    expect(observed).toEqual([
      {
        agent: 'dev',
        parts: {
          sidecars: {
            id: 'bottle-ci-dev-sidecars-id',
            name: 'bottle-ci-dev-sidecars',
            state: 'stopped',
            exitCode: 137,
            hash: 'sidecars-hash',
            image: 'img-sidecars:1',
            internalAddress: '10.213.0.2',
          },
        },
        infrastructureReady: true,
        infrastructure: ['bottle-ci-dev-egress', 'bottle-ci-dev-internal', 'bottle-ci-dev-workspace'],
        workspace: 'bottle-ci-dev-workspace',
      },
      {
        agent: 'zed',
        parts: {
          agent: {
            id: 'bottle-ci-zed-agent-id',
            name: 'bottle-ci-zed-agent',
            state: 'running',
            hash: 'agent-hash',
            image: 'img-agent:1',
            internalAddress: '10.213.0.2',
          },
        },
        infrastructureReady: false,
        infrastructure: [],
      },
    ])
  })

  const readiness = [
    { name: 'everything present', networks: [isolatedInternal('dev'), egress('dev')], volumes: [workspace('dev')], want: true },
    { name: 'no volume', networks: [isolatedInternal('dev'), egress('dev')], volumes: [], want: false },
    { name: 'no egress network', networks: [isolatedInternal('dev')], volumes: [workspace('dev')], want: false },
    {
      name: 'an internal network of an older recipe',
      networks: [{ ...isolatedInternal('dev'), Labels: labels('dev', 'network-internal') }, egress('dev')],
      volumes: [workspace('dev')],
      want: false,
    },
  ]
  it.each(readiness)('infrastructureReady with $name is $want', ({ networks, volumes, want }) => {
    expect(groupObserved('ci', [], networks, volumes)[0]?.infrastructureReady).toBe(want)
  })

  it('ignores objects of other instances, unmanaged ones and unknown roles', () => {
    const observed = groupObserved(
      'ci',
      [
        container('dev', 'agent', 'running', 'Up', {}, 'prod'),
        { ...container('dev', 'agent', 'running', 'Up'), Labels: { ...labels('dev', 'agent'), 'bottle.dev/managed': 'false' } },
        { ...container('dev', 'agent', 'running', 'Up'), Labels: { ...labels('dev', 'agent'), 'bottle.dev/role': 'debugger' } },
        { ...container('dev', 'agent', 'running', 'Up'), Labels: { 'com.example': 'x' } },
      ],
      [],
      [],
    )
    expect(observed).toEqual([{ agent: 'dev', parts: {}, infrastructureReady: false, infrastructure: [] }])
  })

  it('reports a missing hash label as undefined, so the plan sees a mismatch', () => {
    const part = container('dev', 'agent', 'created', 'Created')
    delete (part.Labels as Record<string, string>)['bottle.dev/spec-hash']
    expect(groupObserved('ci', [part], [], [])[0]?.parts.agent).toMatchObject({ state: 'created', hash: undefined })
  })
})

describe('exitCodeFromStatus', () => {
  const cases = [
    { status: 'Exited (0) 3 seconds ago', want: 0 },
    { status: 'Exited (137) About a minute ago', want: 137 },
    { status: 'Up 5 minutes', want: undefined },
    { status: undefined, want: undefined },
  ]
  it.each(cases)('$status -> $want', ({ status, want }) => {
    expect(exitCodeFromStatus(status)).toBe(want)
  })
})
