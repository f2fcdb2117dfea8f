import { describe, expect, it } from 'vitest'
import { createEgressLogger, logEvent } from '../../../../sidecars/egress/event-log.js'

function capture() {
  const lines: Array<Record<string, unknown>> = []
  const log = createEgressLogger({ write: (line: string) => lines.push(JSON.parse(line)) }, 'debug')
  return { lines, log }
}

describe('logEvent', () => {
  const cases = [
    { event: { event: 'request.denied' as const, rule: 'no-route' as const, reason: 'no route allows host x.test', host: 'x.test' }, level: 40, msg: 'request denied' },
    { event: { event: 'config.applied' as const, configHash: 'sha256:00', routes: 2 }, level: 30, msg: 'config applied' },
    { event: { event: 'tunnel.opened' as const, mode: 'passthrough' as const, host: 'a.test', port: 443, route: 'a.test' }, level: 30, msg: 'tunnel opened' },
    { event: { event: 'dlp.warned' as const, dlpRule: 'github-pat', location: 'header:x-note' }, level: 40, msg: 'dlp finding allowed by warn mode' },
  ]
  it.each(cases)('writes $event.event as one JSON line with a constant message', ({ event, level, msg }) => {
    const { lines, log } = capture()
    logEvent(log, event)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ ...event, level, msg, component: 'egress' })
  })

  it('redacts credential-named fields as a backstop', () => {
    const { lines, log } = capture()
    log.info({ event: 'oops', authorization: 'Bearer real', headers: { authorization: 'Bearer real', cookie: 'a=b' }, secret: 's', value: 'v' }, 'mistake')
    expect(JSON.stringify(lines[0])).not.toMatch(/real|a=b|"s"|"v"/)
  })
})

describe('createEgressLogger on stdout', () => {
  // A 16 KiB minLength once made sonic-boom throw at start (it must stay below maxWrite): the daemon exited at once.
  it('builds its buffered stdout destination', () => {
    expect(() => createEgressLogger(undefined, 'silent')).not.toThrow()
  })
})
