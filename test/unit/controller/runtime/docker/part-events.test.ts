import { describe, expect, it } from 'vitest'
import { ownershipLabels } from '../../../../../controller/runtime/docker/names.js'
import { eventFilters, toPartEvent } from '../../../../../controller/runtime/docker/part-events.js'

const attributes = (role: string, instance = 'ci') => ({ ...ownershipLabels(instance, 'dev', 'agent'), 'bottle.dev/role': role, name: 'x' })
const timeNano = Date.UTC(2026, 0, 2, 3, 4, 5, 678) * 1e6

describe('toPartEvent', () => {
  const cases = [
    { name: 'a die of the agent part', message: { Type: 'container', Action: 'die', Actor: { Attributes: attributes('agent') }, timeNano }, want: { agent: 'dev', part: 'agent', kind: 'die', time: '2026-01-02T03:04:05.678Z' } },
    { name: 'an oom of the sidecars part', message: { Type: 'container', Action: 'oom', Actor: { Attributes: attributes('sidecars') }, time: 1767322800 }, want: { agent: 'dev', part: 'sidecars', kind: 'oom', time: '2026-01-02T03:00:00.000Z' } },
    { name: 'an exec event', message: { Type: 'container', Action: 'exec_start: sh', Actor: { Attributes: attributes('agent') }, timeNano }, want: undefined },
    { name: 'another instance', message: { Type: 'container', Action: 'die', Actor: { Attributes: attributes('agent', 'prod') }, timeNano }, want: undefined },
    { name: 'a network event', message: { Type: 'network', Action: 'destroy', Actor: { Attributes: attributes('network-internal') }, timeNano }, want: undefined },
    { name: 'an unlabelled container', message: { Type: 'container', Action: 'die', Actor: { Attributes: { name: 'x' } }, timeNano }, want: undefined },
  ]
  it.each(cases)('maps $name', ({ message, want }) => {
    expect(toPartEvent('ci', message)).toEqual(want)
  })

  it('asks the engine only for lifecycle events of this instance', () => {
    expect(eventFilters('ci')).toEqual({
      type: ['container'],
      label: ['bottle.dev/managed=true', 'bottle.dev/instance=ci'],
      event: ['start', 'die', 'stop', 'destroy', 'oom', 'kill'],
    })
  })
})
