import { describe, expect, it } from 'vitest'
import { chooseSessionCommand, LIVE_SESSION, liveSessionTmux } from '../../../../controller/cli/session-command.js'
import { PROMPT_FILE, PROVIDERS, type ProviderName } from '../../../../controller/plan/providers.js'
import type { ExecOptions } from '../../../../controller/runtime/driver.js'
import { FakeDriver } from '../../../../controller/runtime/fake/fake-driver.js'

interface Box {
  /** A conversation to continue (its transcript). */
  session: boolean
  prompt: boolean
  /** tmux and its config in the image. */
  tmux: boolean
  /** A tmux session left running by an earlier attach. */
  live: boolean
}

/** A box with what the case says, answering the session command's probes as the real one would. */
async function boxWith(has: Box): Promise<{ driver: FakeDriver; probes: { argv: string[]; options: ExecOptions }[] }> {
  const driver = new FakeDriver()
  await driver.ensureInfrastructure('impl')
  await driver.createPart('impl', 'agent', { image: 'agent', env: {}, mounts: [], init: true, hash: 'h' })
  const probes: { argv: string[]; options: ExecOptions }[] = []
  driver.execHandler = (_agent, _part, argv, options) => {
    probes.push({ argv, options })
    const line = argv.join(' ')
    let found = false
    if (line.startsWith('sh -c command -v tmux')) found = has.tmux
    else if (line === liveSessionTmux('has-session', '-t', LIVE_SESSION.name).join(' ')) found = has.live
    else if (line.startsWith('sh -c pid=$(tmux')) found = has.live
    else if (argv[0] === 'sh' && argv[1] === '-c') found = has.session
    else if (line === `test -f ${PROMPT_FILE}`) found = has.prompt
    return { exitCode: found ? 0 : 1, stdout: '', stderr: '' }
  }
  return { driver, probes }
}

const claudeNew = ['claude', '--dangerously-skip-permissions', '--append-system-prompt-file', PROMPT_FILE]
const claudeContinue = ['claude', '--dangerously-skip-permissions', '--continue', '--append-system-prompt-file', PROMPT_FILE]
const inTmux = (cli: string[]) => liveSessionTmux('new-session', '-s', LIVE_SESSION.name, '--', ...cli)
const none: Box = { session: false, prompt: false, tmux: false, live: false }

describe('chooseSessionCommand', () => {
  const cases: { name: string; provider: ProviderName; fresh: boolean; box: Partial<Box>; argv: string[]; mode: string; live: boolean }[] = [
    { name: 'claude continues the last conversation when there is one', provider: 'claude', fresh: false, box: { session: true, prompt: true }, argv: claudeContinue, mode: 'continue', live: false },
    { name: 'claude starts a new conversation when there is none', provider: 'claude', fresh: false, box: { prompt: true }, argv: claudeNew, mode: 'new', live: false },
    { name: 'claude with --new starts a new conversation even when there is one', provider: 'claude', fresh: true, box: { session: true, prompt: true }, argv: claudeNew, mode: 'new', live: false },
    { name: 'claude without a prompt file gets no prompt flag', provider: 'claude', fresh: false, box: {}, argv: ['claude', '--dangerously-skip-permissions'], mode: 'new', live: false },
    { name: 'codex resumes the last session when there is one', provider: 'codex', fresh: false, box: { session: true, prompt: true }, argv: ['codex', 'resume', '--last', '--dangerously-bypass-approvals-and-sandbox'], mode: 'continue', live: false },
    { name: 'codex with --new starts fresh and reads the prompt file', provider: 'codex', fresh: true, box: { session: true, prompt: true }, argv: ['codex', '--dangerously-bypass-approvals-and-sandbox', `Read and follow the instructions in ${PROMPT_FILE}.`], mode: 'new', live: false },
    { name: 'with tmux in the box, the CLI runs in a live session that outlives a detach', provider: 'claude', fresh: false, box: { session: true, prompt: true, tmux: true }, argv: inTmux(claudeContinue), mode: 'continue', live: true },
    { name: 'a live session left running is attached to again, whatever the transcript says', provider: 'claude', fresh: false, box: { session: true, prompt: true, tmux: true, live: true }, argv: liveSessionTmux('attach-session', '-d', '-t', LIVE_SESSION.name), mode: 'reattach', live: true },
    { name: '--new ends a live session and starts a new conversation in a new one', provider: 'claude', fresh: true, box: { session: true, prompt: true, tmux: true, live: true }, argv: inTmux(claudeNew), mode: 'new', live: true },
  ]

  it.each(cases)('$name', async ({ provider, fresh, box, argv, mode, live }) => {
    const { driver, probes } = await boxWith({ ...none, ...box })
    const chosen = await chooseSessionCommand(driver, 'impl', { provider, fresh })
    expect(chosen.argv).toEqual(argv)
    expect(chosen.mode).toBe(mode)
    expect(chosen.live).toBe(live)
    const killed = probes.some((p) => p.argv[2]?.includes('kill-session'))
    expect(killed).toBe(fresh && box.live === true)
    expect(chosen.endedLive === true).toBe(fresh && box.live === true)
  })

  it("probes as the agent in its workspace with the provider's folders, and the session gets the same", async () => {
    const { driver, probes } = await boxWith({ ...none, session: true, prompt: true })
    const chosen = await chooseSessionCommand(driver, 'impl', { provider: 'claude', fresh: false })
    const runtime = PROVIDERS.claude
    const expected = { user: 'agent', workdir: '/home/agent/workspace', env: { HOME: '/home/agent', ...runtime.env } }
    expect(probes.find((p) => p.argv[2] === runtime.hasSessionTest)).toEqual({ argv: ['sh', '-c', runtime.hasSessionTest], options: expected })
    expect(chosen).toMatchObject(expected)
  })

  it('does not look for a conversation when asked for a new one', async () => {
    const { driver, probes } = await boxWith({ ...none, session: true, prompt: true })
    await chooseSessionCommand(driver, 'impl', { provider: 'claude', fresh: true })
    expect(probes.some((p) => p.argv[2] === PROVIDERS.claude.hasSessionTest)).toBe(false)
  })

  it('runs a command after -- as the agent, unchanged, outside tmux and without probing', async () => {
    const { driver, probes } = await boxWith({ ...none, tmux: true, live: true })
    const chosen = await chooseSessionCommand(driver, 'impl', { command: ['bash', '-l'] })
    expect(chosen).toEqual({ argv: ['bash', '-l'], user: 'agent', workdir: '/home/agent/workspace', env: { HOME: '/home/agent' }, mode: 'command', live: false })
    expect(probes).toEqual([])
  })
})
