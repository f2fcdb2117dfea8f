import { describe, expect, it } from 'vitest'
import { runTerminalSession } from '../../../../controller/cli/terminal-session.js'
import { FakeSession } from '../../../../controller/runtime/fake/fake-session.js'
import { FakeTerminal } from '../../../helpers/fake-terminal.js'

const tick = () => new Promise((r) => setImmediate(r))

/** The terminal is as it was before the session: cooked, input paused, nothing listening. */
function expectRestored(terminal: FakeTerminal): void {
  expect(terminal.raw).toBe(false)
  expect(terminal.rawModes).toEqual([true, false])
  expect(terminal.flowing).toBe(false)
  expect(terminal.listenerCount()).toBe(0)
}

function start(): { terminal: FakeTerminal; session: FakeSession; ended: ReturnType<typeof runTerminalSession> } {
  const terminal = new FakeTerminal()
  const session = new FakeSession(['bash'], { columns: 100, rows: 30 })
  return { terminal, session, ended: runTerminalSession(session, terminal) }
}

describe('runTerminalSession', () => {
  it('puts the terminal in raw mode, passes keys in and the screen out, and reports the exit code', async () => {
    const { terminal, session, ended } = start()
    expect(terminal.raw).toBe(true)
    expect(terminal.flowing).toBe(true)
    terminal.type('echo hi\r')
    await tick()
    expect(session.typed).toBe('echo hi\r')
    expect(terminal.screen).toBe('echo hi\r')
    terminal.type('exit 3\r')
    expect(await ended).toEqual({ reason: 'exited', exitCode: 3 })
    expectRestored(terminal)
    expect(session.closed).toBe(false)
  })

  it('forwards every window-size change', async () => {
    const { terminal, session, ended } = start()
    terminal.resize(120, 40)
    terminal.resize(60, 20)
    terminal.type('exit 0\r')
    await ended
    expect(session.sizes).toEqual([{ columns: 100, rows: 30 }, { columns: 120, rows: 40 }, { columns: 60, rows: 20 }])
  })

  it('detaches on ctrl-p ctrl-q: the keys never reach the session, which is closed', async () => {
    const { terminal, session, ended } = start()
    terminal.type('ls\x10')
    terminal.type('\x11')
    expect(await ended).toEqual({ reason: 'detached' })
    expect(session.typed).toBe('ls')
    expect(session.closed).toBe(true)
    expectRestored(terminal)
  })

  it('reads keys from a terminal given an encoding (ink leaves utf8 set): bytes reach the session, ctrl-p ctrl-q detaches', async () => {
    const { terminal, session, ended } = start()
    // used to reach the session as NUL bytes, so a reattached CLI got ^@ and ^C and the detach keys never matched
    terminal.typeDecoded('ls é\r\x10')
    terminal.typeDecoded('\x11')
    expect(await ended).toEqual({ reason: 'detached' })
    expect(session.typed).toBe(Buffer.from('ls é\r', 'utf8').toString('latin1'))
    expectRestored(terminal)
  })

  it('passes ctrl-p through when another key follows it', async () => {
    const { terminal, session, ended } = start()
    terminal.type('\x10')
    terminal.type('a\r')
    terminal.type('exit 0\r')
    await ended
    expect(session.typed).toBe('\x10a\rexit 0\r')
  })

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('restores the terminal and disconnects on %s to the client', async (signal) => {
    const { terminal, session, ended } = start()
    terminal.signal(signal)
    expect(await ended).toEqual({ reason: 'signalled', signal })
    expect(session.closed).toBe(true)
    expectRestored(terminal)
  })

  it('takes the terminal going away as a hangup', async () => {
    const { terminal, ended } = start()
    terminal.hangUp()
    expect(await ended).toEqual({ reason: 'signalled', signal: 'SIGHUP' })
    expectRestored(terminal)
  })

  it('restores the terminal when the session fails', async () => {
    const { terminal, session, ended } = start()
    session.output.destroy(new Error('connection reset'))
    await expect(ended).rejects.toThrow('connection reset')
    expectRestored(terminal)
  })
})
