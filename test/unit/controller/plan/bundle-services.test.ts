import { describe, expect, it } from 'vitest'
import { BUNDLE_ALIASES, BUNDLE_SERVICES, bundleUrl } from '../../../../controller/plan/bundle-services.js'
import { hashedFields } from '../../../../controller/plan/desired-agent.js'
import { DEFAULT_LISTEN as EGRESS_LISTEN } from '../../../../sidecars/egress/sidecar.js'
import { DEFAULT_LISTEN as GATE_LISTEN } from '../../../../sidecars/git-gate/gate-daemon.js'
import { DEFAULT_LISTEN as SUPERVISE_LISTEN } from '../../../../sidecars/supervise/environment.js'

describe('the bundle services', () => {
  it('are dialled on the ports each daemon listens on by default', () => {
    const portOf = (listen: string) => Number(listen.split(':').pop())
    expect(BUNDLE_SERVICES.egress.port).toBe(portOf(EGRESS_LISTEN))
    expect(BUNDLE_SERVICES['git-gate'].port).toBe(portOf(GATE_LISTEN))
    expect(BUNDLE_SERVICES.supervise.port).toBe(portOf(SUPERVISE_LISTEN))
  })

  it('answer to the names agents have always dialled', () => {
    expect(BUNDLE_ALIASES).toEqual(['egress', 'git-gate', 'supervise', 'sidecars'])
    expect(bundleUrl('supervise', '/mcp')).toBe('http://supervise:9100/mcp')
  })
})

describe('hashedFields keeps the hashes of parts made before init and aliases were PartSpec fields', () => {
  const before = { image: 'img', env: { A: '1' }, user: '1:1', mounts: [] }
  const cases = [
    // Docker ran every part with an init and gave the bundle these names: at those values nothing is recreated.
    { name: 'init and the bundle aliases at their old defaults', spec: { ...before, init: true, aliases: [...BUNDLE_ALIASES] }, want: before },
    { name: 'init at its old default, no aliases (the agent part)', spec: { ...before, init: true }, want: before },
    { name: 'no init is a change', spec: { ...before, init: false }, want: { ...before, init: false } },
    { name: 'other aliases are a change', spec: { ...before, init: true, aliases: ['egress'] }, want: { ...before, aliases: ['egress'] } },
  ]
  it.each(cases)('$name', ({ spec, want }) => {
    expect(hashedFields(spec)).toEqual(want)
  })
})
