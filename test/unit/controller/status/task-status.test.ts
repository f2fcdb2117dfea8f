import { describe, expect, it } from 'vitest'
import { computeAgentStatus, taskStatusOf, type AgentFacts } from '../../../../controller/status/agent-status.js'
import type { ObservedPart } from '../../../../controller/runtime/driver.js'

const agentPart = (over: Partial<ObservedPart>): ObservedPart => ({ id: 'abc', name: 'bottle-job', state: 'stopped', hash: 'a1', image: 'img', runsToCompletion: true, ...over })
const running = { id: 'def', name: 'bottle-job-sidecars', state: 'running' as const, hash: 's1', image: 'img' }

function facts(agent: ObservedPart, retries = 2, timeout?: string): AgentFacts {
  return {
    now: '2026-11-23T10:00:00.000Z',
    driver: 'fake',
    specErrors: [],
    specHash: 'h',
    suspended: false,
    desiredHashes: { agent: 'a1', sidecars: 's1' },
    observed: { agent: 'job', parts: { agent, sidecars: running }, infrastructureReady: true, infrastructure: [] },
    routes: { wanted: [], applied: true },
    secretProblems: [],
    task: { retries, ...(timeout ? { timeout } : {}) },
    events: [],
  }
}

const timings = { startedAt: '2026-11-23T09:59:00.000Z', finishedAt: '2026-11-23T09:59:42.000Z' }

describe('task status', () => {
  it('a task that exits 0 has Succeeded, with attempts and timings', () => {
    const status = computeAgentStatus(facts(agentPart({ exitCode: 0, restartCount: 1, ...timings })))
    expect(status.phase).toBe('Succeeded')
    expect(status.task).toEqual({ state: 'Succeeded', attempts: 2, maxAttempts: 3, exitCode: 0, ...timings, durationSeconds: 42 })
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'TaskSucceeded', message: 'the task succeeded after 2 attempts in 42s' })
  })

  it('a task that failed every attempt has Failed, naming the exit code', () => {
    const status = computeAgentStatus(facts(agentPart({ exitCode: 3, restartCount: 2, ...timings })))
    expect(status.phase).toBe('Failed')
    expect(status.task).toMatchObject({ state: 'Failed', attempts: 3, maxAttempts: 3, exitCode: 3 })
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'TaskFailed' })
    expect(status.conditions.find((c) => c.type === 'Ready')?.message).toContain('exit code 3 after 3 attempts')
  })

  it('exit 124 under a timeout reads as timed out', () => {
    const status = computeAgentStatus(facts(agentPart({ exitCode: 124, ...timings }), 0, '30m'))
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'TaskTimedOut', message: 'the task timed out after 30m (1 attempt)' })
  })

  it('between retries it is Running but not Ready', () => {
    const status = computeAgentStatus(facts(agentPart({ state: 'restarting', exitCode: 1, restartCount: 0 })))
    expect(status.phase).toBe('Running')
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'TaskRetrying' })
  })

  it('while it runs it is Running and Ready, and says which attempt', () => {
    const status = computeAgentStatus(facts(agentPart({ state: 'running', restartCount: 1, startedAt: timings.startedAt })))
    expect(status.phase).toBe('Running')
    expect(status.conditions.find((c) => c.type === 'Ready')?.message).toBe('the task is running (attempt 2 of 3)')
    expect(status.task).toEqual({ state: 'Running', attempts: 2, maxAttempts: 3, startedAt: timings.startedAt })
  })

  it('an outdated part (the spec changed) reports no task result', () => {
    const status = computeAgentStatus(facts(agentPart({ hash: 'old', exitCode: 0 })))
    expect(status.task).toBeUndefined()
    expect(status.phase).not.toBe('Succeeded')
  })

  it('attempts never exceed the maximum', () => {
    expect(taskStatusOf(agentPart({ exitCode: 1, restartCount: 7 }), { retries: 1 })?.attempts).toBe(2)
  })
})
