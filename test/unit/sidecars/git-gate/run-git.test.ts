import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstErrorLine, GitCommandError, gitRunner, runGitOk, subcommandOf } from '../../../../sidecars/git-gate/run-git.js'

describe('firstErrorLine', () => {
  const cases = [
    {
      name: 'ssh host key failure over git boilerplate',
      stderr: 'Host key verification failed.\r\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n',
      want: 'Host key verification failed.',
    },
    {
      name: 'a changed host key banner',
      stderr: '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\nHost key verification failed.\nfatal: Could not read from remote repository.\n',
      want: 'Host key verification failed.',
    },
    { name: 'connection refused', stderr: 'ssh: connect to host upstream port 2222: Connection refused\nfatal: Could not read from remote repository.\n', want: 'ssh: connect to host upstream port 2222: Connection refused' },
    { name: 'an https failure', stderr: "remote: Invalid username or password.\nfatal: Authentication failed for 'https://h/app.git/'\n", want: "fatal: Authentication failed for 'https://h/app.git/'" },
    { name: 'the last fatal line', stderr: 'warning: x\nfatal: first\nfatal: second\n', want: 'fatal: second' },
    { name: 'no fatal line', stderr: 'something odd\nmore\n', want: 'something odd' },
    { name: 'only boilerplate', stderr: 'fatal: Could not read from remote repository.\n', want: 'fatal: Could not read from remote repository.' },
    { name: 'nothing', stderr: '', want: '' },
  ]
  it.each(cases)('$name', ({ stderr, want }) => {
    expect(firstErrorLine(stderr)).toBe(want)
  })
})

describe('subcommandOf', () => {
  it.each([
    [['-c', 'a=b', 'fetch', '--prune'], 'fetch'],
    [['--git-dir', 'x'], 'x'],
    [['-C', '/tmp', 'push'], 'push'],
    [[], 'git'],
  ] as const)('%j -> %s', (args, want) => {
    expect(subcommandOf(args)).toBe(want)
  })
})

describe('runGit', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bottle-git-gate-run-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' }

  it('passes arguments verbatim, with no shell', async () => {
    const out = await runGitOk(gitRunner(dir, env), ['-c', 'x.y=$(touch pwned);`id`', 'config', '--get', 'x.y'])
    expect(out.toString()).toBe('$(touch pwned);`id`\n')
  })

  it('throws a one-line GitCommandError naming the subcommand', async () => {
    const error = await runGitOk(gitRunner(dir, env), ['-c', 'a.b=c', 'rev-parse', '--verify', 'nope']).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GitCommandError)
    expect((error as Error).message).toMatch(/^git rev-parse failed: fatal: [^\n]+$/)
  })

  it('stops a git that runs past its timeout', async () => {
    const started = Date.now()
    // An alias that runs `sleep` stands in for an upstream that never answers.
    const result = await gitRunner(dir, env, 300).run(['-c', 'alias.hang=!sleep 3', 'hang'])
    expect(result.timedOut).toBe(true)
    expect(result.code).not.toBe(0)
    // The behaviour under test is about time: killed at 300 ms, well before the 3 s sleep would end.
    expect(Date.now() - started).toBeLessThan(2500)
  })

  it('keeps at most maxStdoutBytes', async () => {
    const result = await gitRunner(dir, env).run(['version', '--build-options'], { maxStdoutBytes: 10 })
    expect(result.stdout).toHaveLength(10)
    expect(result.truncated).toBe(true)
  })
})
