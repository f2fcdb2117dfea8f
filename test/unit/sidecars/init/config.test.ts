import { describe, expect, it } from 'vitest'
import { InitConfigError, parseDaemonList, readInitConfig } from '../../../../sidecars/init/config.js'

describe('parseDaemonList', () => {
  const cases = [
    { name: 'one daemon', input: 'egress', want: ['egress'] },
    { name: 'several, order kept', input: 'git-gate,egress,supervise', want: ['git-gate', 'egress', 'supervise'] },
    { name: 'spaces and empty items ignored', input: ' egress , ,supervise,', want: ['egress', 'supervise'] },
  ]
  it.each(cases)('accepts $name', ({ input, want }) => {
    expect(parseDaemonList(input)).toEqual(want)
  })

  const refusals = [
    { name: 'unset', input: undefined, error: /BOTTLE_DAEMONS is empty/ },
    { name: 'only commas', input: ',,', error: /BOTTLE_DAEMONS is empty/ },
    { name: 'a path', input: '../etc/passwd', error: /is not a daemon name/ },
    { name: 'uppercase', input: 'Egress', error: /is not a daemon name/ },
    { name: 'a duplicate', input: 'egress,egress', error: /listed twice/ },
  ]
  it.each(refusals)('refuses $name', ({ input, error }) => {
    expect(() => parseDaemonList(input)).toThrow(error)
  })
})

describe('readInitConfig', () => {
  const exists = () => true

  it('fills in defaults that fit docker stop', () => {
    expect(readInitConfig({ BOTTLE_DAEMONS: 'egress' }, exists)).toEqual({
      daemons: ['egress'],
      daemonDir: '/opt/bottle',
      runDir: '/run/bottle',
      stopGraceMs: 8000,
      backoffInitialMs: 500,
      backoffMaxMs: 30000,
      stableAfterMs: 10000,
    })
  })

  const refusals = [
    { name: 'a negative-looking grace', env: { BOTTLE_STOP_GRACE_MS: '-1' }, error: /BOTTLE_STOP_GRACE_MS must be a whole number/ },
    { name: 'a zero first delay', env: { BOTTLE_RESTART_BACKOFF_MS: '0' }, error: /at least 1/ },
    {
      name: 'a cap below the first delay',
      env: { BOTTLE_RESTART_BACKOFF_MS: '500', BOTTLE_RESTART_BACKOFF_MAX_MS: '100' },
      error: /must not be below/,
    },
  ]
  it.each(refusals)('refuses $name', ({ env, error }) => {
    expect(() => readInitConfig({ BOTTLE_DAEMONS: 'egress', ...env }, exists)).toThrow(error)
  })

  it('names every daemon whose program is missing', () => {
    const present = (path: string) => path.endsWith('/egress.mjs')
    const read = () => readInitConfig({ BOTTLE_DAEMONS: 'egress,git-gate,supervise', BOTTLE_DAEMON_DIR: '/x' }, present)
    expect(read).toThrow(InitConfigError)
    expect(read).toThrow('daemons not in this image: /x/git-gate.mjs, /x/supervise.mjs')
  })
})
