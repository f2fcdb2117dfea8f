import { execa } from 'execa'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GitRemoteSource, parseGitSource } from '../../../../../controller/spec/sources/git-remote-source.js'
import { captureLog } from '../../../../helpers/log-capture.js'
import { TempFolder } from '../../../../helpers/temp-folder.js'

async function git(cwd: string, ...args: string[]): Promise<string> {
  const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' }
  return (await execa('git', args, { cwd, env })).stdout
}

describe('parseGitSource', () => {
  const cases = [
    { input: 'git+ssh://git@host/specs.git#main', want: { url: 'ssh://git@host/specs.git', branch: 'main', subdir: '' } },
    { input: 'https://host/specs.git#prod:clusters/dev', want: { url: 'https://host/specs.git', branch: 'prod', subdir: 'clusters/dev' } },
    { input: 'https://host/specs.git', want: { url: 'https://host/specs.git', branch: 'main', subdir: '' } },
    { input: '/srv/specs.git#release/1.2', want: { url: '/srv/specs.git', branch: 'release/1.2', subdir: '' } },
  ]
  it.each(cases)('$input', ({ input, want }) => {
    expect(parseGitSource(input)).toEqual(want)
  })

  it.each(['https://host/x.git#-upload-pack=evil', 'https://host/x.git#main:../etc', 'https://host/x.git#ma in'])('refuses %s', (input) => {
    expect(() => parseGitSource(input)).toThrow()
  })
})

describe('GitRemoteSource', () => {
  let upstream: TempFolder
  let work: TempFolder
  let cache: TempFolder
  beforeEach(async () => {
    upstream = await TempFolder.create('bottle-upstream-')
    work = await TempFolder.create('bottle-work-')
    cache = await TempFolder.create('bottle-cache-')
    await git(upstream.path, 'init', '--quiet', '--bare', '--initial-branch=main')
    await git(work.path, 'init', '--quiet', '--initial-branch=main')
    await work.write('agents/a.yaml', 'kind: Agent\n')
    await git(work.path, 'add', '.')
    await git(work.path, 'commit', '--quiet', '-m', 'first')
    await git(work.path, 'push', '--quiet', upstream.path, 'main')
  })
  afterEach(async () => {
    await Promise.all([upstream.dispose(), work.dispose(), cache.dispose()])
  })

  it('clones, records the commit, and notices a new commit on poll', async () => {
    const { log } = captureLog()
    const source = new GitRemoteSource(parseGitSource(`${upstream.path}#main`), cache.path, 60_000, log)
    let changes = 0
    const first = await source.start(() => changes++)
    expect(first.revision).toBe(await git(work.path, 'rev-parse', 'HEAD'))
    expect(existsSync(`${first.root}/agents/a.yaml`)).toBe(true)

    await source.poll(() => changes++)
    expect(changes).toBe(0)

    await work.write('agents/b.yaml', 'kind: Agent\n')
    await git(work.path, 'add', '.')
    await git(work.path, 'commit', '--quiet', '-m', 'second')
    await git(work.path, 'push', '--quiet', upstream.path, 'main')
    await source.poll(() => changes++)
    expect(changes).toBe(1)
    expect(source.current().revision).toBe(await git(work.path, 'rev-parse', 'HEAD'))
    expect(existsSync(`${source.current().root}/agents/b.yaml`)).toBe(true)
    await source.stop()
  })

  it('keeps status files the controller wrote into the checkout across updates', async () => {
    const { log } = captureLog()
    const source = new GitRemoteSource(parseGitSource(`${upstream.path}#main`), cache.path, 60_000, log)
    const { root } = await source.start(() => undefined)
    await writeFile(`${root}/agents/a.status.yaml`, 'status: {}\n')
    await work.write('agents/c.yaml', 'kind: Agent\n')
    await git(work.path, 'add', '.')
    await git(work.path, 'commit', '--quiet', '-m', 'third')
    await git(work.path, 'push', '--quiet', upstream.path, 'main')
    await source.poll(() => undefined)
    expect(existsSync(`${root}/agents/a.status.yaml`)).toBe(true)
    await source.stop()
  })

  it('keeps the last checkout when the remote becomes unreachable', async () => {
    const capture = captureLog()
    const source = new GitRemoteSource(parseGitSource(`${upstream.path}#main`), cache.path, 60_000, capture.log)
    const first = await source.start(() => undefined)
    await upstream.dispose()
    let changes = 0
    await source.poll(() => changes++)
    expect(changes).toBe(0)
    expect(source.current()).toEqual(first)
    expect(capture.text()).toContain('"event":"source.fetch-failed"')
    await source.stop()
  })
})
