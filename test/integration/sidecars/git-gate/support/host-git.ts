/**
 * A git client on the host with nothing of the host user's: its own HOME and
 * global config, no system config, no credential helper, no ssh key. It is
 * what an agent's git looks like from the gate's side.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runGit, type GitResult } from '../../../../../sidecars/git-gate/run-git.js'

export interface HostGit {
  home: string
  run(cwd: string, args: string[], options?: { input?: string; timeoutMs?: number }): Promise<GitResult & { out: string; err: string }>
}

export function hostGit(root: string, gitconfig = ''): HostGit {
  const home = join(root, 'client-home')
  mkdirSync(home, { recursive: true })
  writeFileSync(join(home, '.gitconfig'), `[user]\n\tname = Agent\n\temail = agent@example.com\n[init]\n\tdefaultBranch = main\n${gitconfig}`)
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  }
  return {
    home,
    async run(cwd, args, options = {}) {
      const result = await runGit(args, { cwd, env, timeoutMs: options.timeoutMs ?? 120_000, ...(options.input !== undefined ? { input: options.input } : {}) })
      return { ...result, out: result.stdout.toString('utf8'), err: result.stderr }
    },
  }
}
