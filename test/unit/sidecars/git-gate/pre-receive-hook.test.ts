import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createScanner } from '../../../../sidecars/dlp/index.js'
import { runPreReceive } from '../../../../sidecars/git-gate/pre-receive-hook.js'
import type { PushReport } from '../../../../sidecars/git-gate/push-report.js'
import { configFolder, type ConfigFolder } from './support/config-folder.js'
import { cleanGitEnv, WorkRepo } from './support/work-repo.js'

const AWS_KEY = ['AKIA', 'Z7QWERTYUIOPASDF'].join('')
const TOKEN = 'forge-token-value-123'
const ZERO = '0'.repeat(40)
// An upstream nothing listens on: any attempt to forward fails at once.
const UNREACHABLE = { name: 'lib', upstream: 'https://127.0.0.1:9/me/lib.git', protocol: 'https', tokenSlot: 'env.FORGE_TOKEN' }

let repo: WorkRepo
let folder: ConfigFolder
let scratch: string

beforeEach(async () => {
  repo = await WorkRepo.create()
  await repo.commit({ 'README.md': '# lib\n' }, 'initial')
  folder = await configFolder({ remotes: [UNREACHABLE], secrets: { 'env.FORGE_TOKEN': TOKEN } })
  scratch = await mkdtemp(join(tmpdir(), 'bottle-git-gate-hook-'))
})

afterEach(async () => {
  await Promise.all([repo.dispose(), folder.dispose(), rm(scratch, { recursive: true, force: true })])
})

/** New commits no ref reaches, as receive-pack holds them in quarantine. */
async function pushedCommits(files: Record<string, string>): Promise<string> {
  await repo.run('checkout', '-q', '-b', 'incoming')
  const tip = await repo.commit(files, 'incoming change')
  await repo.run('checkout', '-q', '--detach', 'main')
  await repo.run('branch', '-q', '-D', 'incoming')
  return tip
}

async function hook(stdin: string, envOverrides: Record<string, string> = {}): Promise<{ code: number; lines: string[]; report: PushReport | undefined }> {
  const lines: string[] = []
  const reportPath = join(scratch, 'report.json')
  const code = await runPreReceive({
    env: {
      ...cleanGitEnv(join(scratch, 'home')),
      GIT_TERMINAL_PROMPT: '0',
      BOTTLE_GIT_GATE_CONFIG_DIR: folder.dir,
      BOTTLE_GIT_GATE_REMOTE: 'lib',
      BOTTLE_GIT_GATE_PUSH_REPORT: reportPath,
      ...envOverrides,
    },
    cwd: repo.dir,
    stdin,
    writeLine: (line) => lines.push(line),
    createScanner,
  })
  const report = await readFile(reportPath, 'utf8').then((t) => JSON.parse(t) as PushReport, () => undefined)
  return { code, lines, report }
}

describe('runPreReceive', () => {
  it('declines a push with a secret, naming file, line, rule and commit, and never contacts upstream', async () => {
    const tip = await pushedCommits({ 'src/keys.ts': `export const a = 1\nexport const key = '${AWS_KEY}'\n` })
    const got = await hook(`${ZERO} ${tip} refs/heads/feature\n`)
    expect(got.code).toBe(1)
    expect(got.lines[0]).toBe(`bottle-git-gate: refused push: src/keys.ts:2: aws-access-key-id in commit ${tip.slice(0, 10)}`)
    expect(got.lines.at(-1)).toMatch(/^bottle-git-gate: nothing was sent upstream\./)
    expect(got.report).toMatchObject({ remote: 'lib', outcome: 'refused', refs: ['refs/heads/feature'], commits: 1, findings: [{ rule: 'aws-access-key-id', location: 'src/keys.ts:2' }] })
    expect(got.lines.join('\n')).not.toContain(AWS_KEY)
  })

  it('declines a push carrying the gate’s own token, without printing it', async () => {
    const tip = await pushedCommits({ 'ci.env': `TOKEN=${TOKEN}\n` })
    const got = await hook(`${ZERO} ${tip} refs/heads/feature\n`)
    expect(got.code).toBe(1)
    expect(got.lines[0]).toContain('ci.env:1: known-secret')
    expect(JSON.stringify(got)).not.toContain(TOKEN)
  })

  it('declines a clean push it cannot deliver, saying why (fail closed)', async () => {
    const tip = await pushedCommits({ 'ok.txt': 'fine\n' })
    const got = await hook(`${ZERO} ${tip} refs/heads/feature\n`)
    expect(got.code).toBe(1)
    expect(got.lines.join('\n')).toMatch(/^bottle-git-gate: refused push: cannot deliver it to upstream https:\/\/127\.0\.0\.1:9\/me\/lib\.git \([^\n]+\); nothing changed$/m)
    expect(got.report).toMatchObject({ outcome: 'failed', commits: 1 })
  })

  const broken: Array<{ name: string; setup: () => Promise<Record<string, string>>; want: string }> = [
    { name: 'an invalid config folder', setup: async () => (await folder.write('config.json', '{"version":2}'), {}), want: "bottle-git-gate: refused push: the gate's config is invalid; nothing was sent upstream" },
    { name: 'a remote no longer configured', setup: async () => ({ BOTTLE_GIT_GATE_REMOTE: 'gone' }), want: 'bottle-git-gate: refused push: repository "gone" is no longer configured on this gate' },
    { name: 'no config folder', setup: async () => ({ BOTTLE_GIT_GATE_CONFIG_DIR: '' }), want: 'bottle-git-gate: refused push: the gate is misconfigured (no config folder)' },
  ]
  it.each(broken)('declines on $name', async ({ setup, want }) => {
    const tip = await pushedCommits({ 'ok.txt': 'fine\n' })
    const got = await hook(`${ZERO} ${tip} refs/heads/feature\n`, await setup())
    expect(got.code).toBe(1)
    expect(got.lines).toEqual([want])
    expect(got.report?.outcome).toBe('failed')
  })

  it('declines when it cannot read what receive-pack sent', async () => {
    const got = await hook('not an update line\n')
    expect(got.code).toBe(1)
    expect(got.lines[0]).toMatch(/^bottle-git-gate: refused push: the gate could not check it \(unexpected update line from receive-pack: [^\n]+\); nothing was sent upstream$/)
  })
})
