import { describe, expect, it } from 'vitest'
import { parseControlRequest } from '../../../../sidecars/init/control-socket.js'

describe('parseControlRequest', () => {
  const accepted = [
    { name: 'a restart', input: '{"op":"restart","daemon":"egress"}', want: { op: 'restart', daemon: 'egress' } },
    { name: 'a status query', input: '{"op":"status"}', want: { op: 'status' } },
  ]
  it.each(accepted)('accepts $name', ({ input, want }) => {
    expect(parseControlRequest(input)).toEqual(want)
  })

  const refused = [
    { name: 'text that is not JSON', input: 'restart egress', error: /not JSON/ },
    { name: 'an unknown op', input: '{"op":"reboot"}', error: /not valid/ },
    { name: 'a restart without a daemon', input: '{"op":"restart"}', error: /not valid/ },
    { name: 'extra fields', input: '{"op":"status","all":true}', error: /not valid/ },
    { name: 'a JSON array', input: '[]', error: /not valid/ },
  ]
  it.each(refused)('refuses $name', ({ input, error }) => {
    const result = parseControlRequest(input)
    expect('error' in result && result.error).toMatch(error)
  })
})
