import { describe, expect, it } from 'vitest'
import { LOG_EVENTS, type LogFields } from '../../../../controller/log-events.js'
import { computeAgentStatus, pruneFailedStatus } from '../../../../controller/status/agent-status.js'
import { CONDITION_REASONS, type ConditionReason } from '../../../../controller/status/condition-reasons.js'
import { setCondition } from '../../../../controller/status/conditions.js'
import { EVENT_REASONS, type EventReason } from '../../../../controller/status/event-reasons.js'
import type { Condition, StatusEvent } from '../../../../controller/status/status-types.js'

const NOW = '2026-01-01T00:00:00.000Z'

describe('closed vocabularies', () => {
  it('list each word once', () => {
    for (const words of [LOG_EVENTS, CONDITION_REASONS, EVENT_REASONS]) expect(new Set(words).size).toBe(words.length)
  })

  it('are CamelCase facts for reasons and dotted or dashed lower case for log events', () => {
    for (const reason of [...CONDITION_REASONS, ...EVENT_REASONS]) expect(reason).toMatch(/^[A-Z][a-zA-Z]+$/)
    for (const event of LOG_EVENTS) expect(event).toMatch(/^[a-z]+([.-][a-z]+)*$/)
  })

  it('hold every reason the status functions give', () => {
    const statuses = [
      computeAgentStatus({ now: NOW, driver: 'fake', specErrors: [], suspended: false, secretProblems: [], events: [] }),
      computeAgentStatus({ now: NOW, driver: 'fake', specErrors: ['x.yaml:1:1: bad'], suspended: false, secretProblems: [], events: [], error: 'boom' }),
      pruneFailedStatus(undefined, 'engine down', NOW),
    ]
    const reasons = statuses.flatMap((s) => s.conditions.map((c) => c.reason))
    expect(reasons.length).toBeGreaterThan(0)
    for (const reason of reasons) expect(CONDITION_REASONS).toContain(reason)
  })

  it('make a misspelt word a type error (checked by typecheck)', () => {
    const conditions: Condition[] = []
    // @ts-expect-error not a condition reason
    setCondition(undefined, conditions, 'Ready', 'False', 'Progresing', 'typo', NOW)
    // @ts-expect-error not an event reason
    const event: StatusEvent = { time: NOW, type: 'Normal', reason: 'Create', message: 'typo' }
    // @ts-expect-error not a log event
    const fields: LogFields = { event: 'reconcile.fail' }
    const ok: [ConditionReason, EventReason, LogFields] = ['Progressing', 'Created', { event: 'reconcile.failed' }]
    expect([conditions[0]?.reason, event.reason, fields.event, ok.length]).toEqual(['Progresing', 'Create', 'reconcile.fail', 3])
  })
})
