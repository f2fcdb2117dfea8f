/**
 * A real git repository in a temp folder, for tests that need git's own
 * output: commits files (text or bytes, null deletes), branches, merges and
 * tags with a clean environment (no user or system config).
 */
import { mkdir, mkdtemp, rm, writeFile, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gitRunner, runGitOk, type GitRunner } from '../../../../../sidecars/git-gate/run-git.js'

export type FileChanges = Record<string, string | Buffer | null>

export class WorkRepo {
  private constructor(
    readonly dir: string,
    readonly git: GitRunner,
    private readonly root: string,
  ) {}

  static async create(options: { bare?: boolean } = {}): Promise<WorkRepo> {
    const root = await mkdtemp(join(tmpdir(), 'bottle-git-gate-'))
    const dir = join(root, options.bare ? 'repo.git' : 'repo')
    await mkdir(join(root, 'home'))
    const env = cleanGitEnv(join(root, 'home'))
    await runGitOk(gitRunner(root, env), ['init', '-q', ...(options.bare ? ['--bare'] : []), '-b', 'main', dir])
    return new WorkRepo(dir, gitRunner(dir, env), root)
  }

  async run(...args: string[]): Promise<string> {
    return (await runGitOk(this.git, args)).toString('utf8').trim()
  }

  async commit(files: FileChanges, message = 'change'): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const abs = join(this.dir, path)
      if (content === null) {
        await unlink(abs)
      } else {
        await mkdir(dirname(abs), { recursive: true })
        await writeFile(abs, content)
      }
    }
    await this.run('add', '-A')
    await runGitOk(this.git, ['commit', '-q', '--allow-empty', '-F', '-'], { input: message })
    return this.run('rev-parse', 'HEAD')
  }

  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true })
  }
}

export function cleanGitEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    LC_ALL: 'C',
  }
}
