import { describe, expect, it } from 'vitest'
import { DriverError } from '../../../../../controller/runtime/driver.js'
import { engineError } from '../../../../../controller/runtime/docker/engine-errors.js'

describe('engineError', () => {
  const cases = [
    {
      name: 'an engine message',
      error: Object.assign(new Error('(HTTP code 409) unexpected - Conflict'), { statusCode: 409, json: { message: 'Conflict. The container name is in use' } }),
      want: 'docker: create-part bottle-dev-agent: Conflict. The container name is in use',
    },
    {
      name: 'an unreachable engine',
      error: Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }),
      want: /^docker: create-part bottle-dev-agent: connect ENOENT \/var\/run\/docker\.sock \(cannot reach the Docker engine/,
    },
    {
      name: 'exhausted address pools',
      error: Object.assign(new Error('x'), { json: { message: 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network' } }),
      want: /default-address-pools/,
    },
    {
      name: 'a multi-line message',
      error: new Error('first line\nsecond line'),
      want: 'docker: create-part bottle-dev-agent: first line',
    },
  ]
  it.each(cases)('turns $name into one line', ({ error, want }) => {
    const converted = engineError('create-part', 'bottle-dev-agent', error)
    expect(converted).toBeInstanceOf(DriverError)
    expect(converted.message).toMatch(want)
    expect(converted.message).not.toContain('\n')
    expect(converted.cause).toBe(error)
  })

  it('passes a DriverError through unchanged', () => {
    const original = new DriverError('docker', 'exec', 'x', 'no such part')
    expect(engineError('other', 'y', original)).toBe(original)
  })
})
