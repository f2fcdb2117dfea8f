import { describe, expect, it } from 'vitest'
import type { ObservedPart, PartState } from '../../../../controller/runtime/driver.js'
import { computeAgentStatus, type AgentFacts } from '../../../../controller/status/agent-status.js'

const part = (over: Partial<ObservedPart> = {}): ObservedPart => ({ id: '0123456789abcdef', name: 'box-agent', state: 'running', hash: 'a1', image: 'img', ...over })

function facts(over: Partial<AgentFacts> = {}): AgentFacts {
  return {
    now: '2026-11-23T10:00:00.000Z',
    driver: 'fake',
    specErrors: [],
    specHash: 'h',
    suspended: false,
    desiredHashes: { agent: 'a1', sidecars: 's1' },
    observed: { agent: 'impl', parts: { agent: part(), sidecars: part({ name: 'box-sidecars', hash: 's1' }) }, infrastructureReady: true, infrastructure: [] },
    secretProblems: [],
    events: [],
    ...over,
  }
}

describe('what status says about parts', () => {
  const states: PartState[] = ['running', 'stopped', 'restarting', 'paused', 'created', 'dead']
  it.each(states)('a %s part is reported in the driver-neutral word for it', (state) => {
    const status = computeAgentStatus(facts({ observed: { agent: 'impl', parts: { agent: part({ state }) }, infrastructureReady: true, infrastructure: [] } }))
    expect(status.runtime?.agent?.state).toBe(state)
  })

  it('names the driver and counts restarts the driver made, when there were any', () => {
    const restarted = computeAgentStatus(facts({ observed: { agent: 'impl', parts: { agent: part({ restartCount: 2 }), sidecars: part({ restartCount: 0 }) }, infrastructureReady: true, infrastructure: [] } }))
    expect(restarted.runtime).toMatchObject({ driver: 'fake', agent: { restarts: 2, id: '0123456789ab' } })
    expect(restarted.runtime?.sidecars).not.toHaveProperty('restarts')
  })

  it('an unavailable runtime: Failed, Ready=False RuntimeUnavailable with the one-line reason, and no parts', () => {
    const reason = 'runtime "vm" is not available on this host: no vm driver is installed in this controller version'
    const { observed: _none, driver: _noDriver, ...rest } = facts()
    const status = computeAgentStatus({ ...rest, runtimeUnavailable: reason })
    expect(status.phase).toBe('Failed')
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'RuntimeUnavailable', message: reason })
    expect(status.lastError).toBe(reason)
    expect(status.runtime).toBeUndefined()
  })
})
