import { beforeEach, describe, expect, it } from 'vitest'
import { chooseSessionCommand } from '../../../../controller/cli/session-command.js'
import { PROMPT_FILE, providerRuntime, type ProviderName } from '../../../../controller/plan/provider-runtime.js'
import type { ExecOptions } from '../../../../controller/runtime/driver.js'
import { FakeDriver } from '../../../../controller/runtime/fake/fake-driver.js'

/** A box where a conversation to continue and the prompt file are there or not, as the case says. */
async function boxWith(has: { session: boolean; prompt: boolean }): Promise<{ driver: FakeDriver; probes: { argv: string[]; options: ExecOptions }[] }> {
  const driver = new FakeDriver()
  await driver.ensureInfrastructure('impl')
  await driver.createPart('impl', 'agent', { image: 'agent', env: {}, mounts: [], hash: 'h' })
  const probes: { argv: string[]; options: ExecOptions }[] = []
  driver.execHandler = (_agent, _part, argv, options) => {
    probes.push({ argv, options })
    const isSessionTest = argv[0] === 'sh' && argv[1] === '-c'
    const isPromptTest = argv.join(' ') === `test -f ${PROMPT_FILE}`
    const found = (isSessionTest && has.session) || (isPromptTest && has.prompt)
    return { exitCode: found ? 0 : 1, stdout: '', stderr: '' }
  }
  return { driver, probes }
}

describe('chooseSessionCommand', () => {
  const cases: { name: string; provider: ProviderName; fresh: boolean; session: boolean; prompt: boolean; argv: string[]; mode: string }[] = [
    { name: 'claude continues the last conversation when there is one', provider: 'claude', fresh: false, session: true, prompt: true, argv: ['claude', '--dangerously-skip-permissions', '--continue', '--append-system-prompt-file', PROMPT_FILE], mode: 'continue' },
    { name: 'claude starts a new conversation when there is none', provider: 'claude', fresh: false, session: false, prompt: true, argv: ['claude', '--dangerously-skip-permissions', '--append-system-prompt-file', PROMPT_FILE], mode: 'new' },
    { name: 'claude with --new starts a new conversation even when there is one', provider: 'claude', fresh: true, session: true, prompt: true, argv: ['claude', '--dangerously-skip-permissions', '--append-system-prompt-file', PROMPT_FILE], mode: 'new' },
    { name: 'claude without a prompt file gets no prompt flag', provider: 'claude', fresh: false, session: false, prompt: false, argv: ['claude', '--dangerously-skip-permissions'], mode: 'new' },
    { name: 'codex resumes the last session when there is one', provider: 'codex', fresh: false, session: true, prompt: true, argv: ['codex', 'resume', '--last', '--dangerously-bypass-approvals-and-sandbox'], mode: 'continue' },
    { name: 'codex with --new starts fresh and reads the prompt file', provider: 'codex', fresh: true, session: true, prompt: true, argv: ['codex', '--dangerously-bypass-approvals-and-sandbox', `Read and follow the instructions in ${PROMPT_FILE}.`], mode: 'new' },
  ]

  it.each(cases)('$name', async ({ provider, fresh, session, prompt, argv, mode }) => {
    const { driver } = await boxWith({ session, prompt })
    const chosen = await chooseSessionCommand(driver, 'impl', { provider, fresh })
    expect(chosen.argv).toEqual(argv)
    expect(chosen.mode).toBe(mode)
  })

  let box: Awaited<ReturnType<typeof boxWith>>
  beforeEach(async () => {
    box = await boxWith({ session: true, prompt: true })
  })

  it("probes for a conversation with the provider's own test, as the agent in its workspace with the provider's folders", async () => {
    const chosen = await chooseSessionCommand(box.driver, 'impl', { provider: 'claude', fresh: false })
    const runtime = providerRuntime('claude')
    expect(box.probes[0]).toEqual({
      argv: ['sh', '-c', runtime.hasSessionTest],
      options: { user: 'agent', workdir: '/home/agent/workspace', env: { HOME: '/home/agent', ...runtime.env } },
    })
    expect(chosen).toMatchObject({ user: 'agent', workdir: '/home/agent/workspace', env: { HOME: '/home/agent', ...runtime.env } })
  })

  it('does not look for a conversation when asked for a new one', async () => {
    await chooseSessionCommand(box.driver, 'impl', { provider: 'claude', fresh: true })
    expect(box.probes.map((p) => p.argv[0])).toEqual(['test'])
  })

  it('runs a command after -- as the agent, unchanged and without probing', async () => {
    const chosen = await chooseSessionCommand(box.driver, 'impl', { command: ['bash', '-l'] })
    expect(chosen).toEqual({ argv: ['bash', '-l'], user: 'agent', workdir: '/home/agent/workspace', env: { HOME: '/home/agent' }, mode: 'command' })
    expect(box.probes).toEqual([])
  })
})
