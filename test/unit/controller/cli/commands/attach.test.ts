import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../../../controller/cli/cli-error.js'
import { runAttach } from '../../../../../controller/cli/commands/attach.js'
import { FakeDriver } from '../../../../../controller/runtime/fake/fake-driver.js'
import { agentSpec, BOTTLE_DEV } from '../../../../helpers/fake-controller.js'
import { FakeTerminal } from '../../../../helpers/fake-terminal.js'
import { TempFolder } from '../../../../helpers/temp-folder.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('runAttach', () => {
  let specs: TempFolder
  let driver: FakeDriver
  let stderr: string
  const err = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stderr += chunk.toString()
      done()
    },
  })
  const options = () => ({ dir: specs.path, instance: 'default' })

  beforeEach(async () => {
    specs = await TempFolder.create()
    await specs.write('bottles/dev.yaml', BOTTLE_DEV)
    await specs.write('agents/impl.yaml', agentSpec('impl', '  provider: codex\n'))
    driver = new FakeDriver()
    await driver.ensureInfrastructure('impl')
    await driver.createPart('impl', 'agent', { image: 'agent', env: {}, mounts: [], init: true, hash: 'h' })
    stderr = ''
  })

  afterEach(async () => {
    await specs.dispose()
  })

  /** Waits for the session to open, then returns it. */
  async function openedSession() {
    for (let i = 0; i < 1000 && driver.sessions.length === 0; i += 1) await sleep(10)
    const session = driver.sessions[0]
    if (!session) throw new Error('no session was opened')
    return session
  }

  it('refuses without a terminal, with a usage error that points at exec', async () => {
    const attaching = runAttach('impl', ['bash'], options(), err, { terminal: new FakeTerminal({ isTTY: false }), driver })
    await expect(attaching).rejects.toThrow(new UsageError('attach needs a terminal; use bottle exec for scripts'))
    await expect(attaching).rejects.toMatchObject({ exitCode: 2 })
    expect(driver.sessions).toEqual([])
  })

  it("runs the provider of the Agent's spec at the terminal's size, and exits with the session's code", async () => {
    // Ready file and prompt file present; no conversation yet.
    driver.execHandler = (_agent, _part, argv) => ({ exitCode: argv[0] === 'sh' ? 1 : 0, stdout: '', stderr: '' })
    const terminal = new FakeTerminal({ columns: 132, rows: 43 })
    const attaching = runAttach('impl', [], options(), err, { terminal, driver })
    const session = await openedSession()
    expect(session.argv).toEqual(['codex', '--dangerously-bypass-approvals-and-sandbox', 'Read and follow the instructions in /home/agent/.bottle/prompt.md.'])
    expect(session.options).toMatchObject({ user: 'agent', workdir: '/home/agent/workspace', columns: 132, rows: 43 })
    expect(session.options.env).toMatchObject({ HOME: '/home/agent', CODEX_HOME: '/home/agent/.bottle-sessions/codex' })
    expect(session.options.env?.TERM).toBeTruthy()
    terminal.type('exit 7\r')
    expect(await attaching).toBe(7)
    expect(stderr).toContain('attached to impl: a new conversation')
  })

  it("runs the Bottle's image provider when the Agent names none", async () => {
    await specs.write('bottles/dev.yaml', BOTTLE_DEV.replace('spec:\n', 'spec:\n  image: {provider: codex}\n'))
    await specs.write('agents/impl.yaml', agentSpec('impl'))
    driver.execHandler = (_agent, _part, argv) => ({ exitCode: argv[0] === 'sh' ? 1 : 0, stdout: '', stderr: '' })
    const terminal = new FakeTerminal()
    const attaching = runAttach('impl', [], options(), err, { terminal, driver })
    const session = await openedSession()
    expect(session.argv[0]).toBe('codex')
    expect(session.options.env).toMatchObject({ CODEX_HOME: '/home/agent/.bottle-sessions/codex' })
    terminal.type('exit 0\r')
    expect(await attaching).toBe(0)
  })

  it('runs a command after -- instead of the provider', async () => {
    const terminal = new FakeTerminal()
    const attaching = runAttach('impl', ['bash'], options(), err, { terminal, driver })
    const session = await openedSession()
    expect(session.argv).toEqual(['bash'])
    terminal.type('exit 0\r')
    expect(await attaching).toBe(0)
  })

  it('exits 0 after a detach, with a one-line note', async () => {
    const terminal = new FakeTerminal()
    const attaching = runAttach('impl', ['bash'], options(), err, { terminal, driver })
    await openedSession()
    terminal.type('\x10\x11')
    expect(await attaching).toBe(0)
    expect(stderr).toMatch(/detached from impl[^\n]*\n$/)
  })

  it('exits 128+n after signal n to the client', async () => {
    const terminal = new FakeTerminal()
    const attaching = runAttach('impl', ['bash'], options(), err, { terminal, driver })
    await openedSession()
    terminal.signal('SIGTERM')
    expect(await attaching).toBe(143)
  })

  it('names the spec folder when the agent is not in it', async () => {
    await expect(runAttach('impel', [], options(), err, { terminal: new FakeTerminal(), driver })).rejects.toThrow(/agent "impel" not found .*did you mean "impl"/)
  })

  it('refuses --new with a command', async () => {
    await expect(runAttach('impl', ['bash'], { ...options(), new: true }, err, { terminal: new FakeTerminal(), driver })).rejects.toMatchObject({ exitCode: 2 })
  })
})
