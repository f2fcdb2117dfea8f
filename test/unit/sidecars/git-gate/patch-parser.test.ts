import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LineSplitter } from '../../../../sidecars/git-gate/line-splitter.js'
import { PatchParser, type FilePatch } from '../../../../sidecars/git-gate/patch-parser.js'
import { runGitOk } from '../../../../sidecars/git-gate/run-git.js'
import { WorkRepo } from './support/work-repo.js'

const DIFF_ARGS = ['-c', 'core.quotePath=true', 'diff-tree', '--stdin', '-r', '-p', '--cc', '--root', '--always', '--full-index', '--no-renames', '--no-color']

function parse(text: string | Buffer, maxFileBytes = 1024 * 1024): FilePatch[] {
  const files: FilePatch[] = []
  const parser = new PatchParser((file) => files.push(file), maxFileBytes)
  const splitter = new LineSplitter((line, bytes) => parser.line(line, bytes), maxFileBytes + 16)
  splitter.push(Buffer.isBuffer(text) ? text : Buffer.from(text))
  splitter.end()
  parser.end()
  return files
}

let repo: WorkRepo
beforeEach(async () => {
  repo = await WorkRepo.create()
})
afterEach(async () => {
  await repo.dispose()
})

async function diffOf(...commits: string[]): Promise<Buffer> {
  return runGitOk(repo.git, DIFF_ARGS, { input: `${commits.join('\n')}\n` })
}

describe('PatchParser on real git output', () => {
  it('reads paths exactly, whatever characters they hold', async () => {
    const names = ['plain.txt', 'with space.txt', 'tab\there.txt', 'quote"d.txt', 'back\\slash.txt', 'é-accent.txt', 'trailing space .txt', 'a b/c d.txt', '-dash.txt']
    const commit = await repo.commit(Object.fromEntries(names.map((n) => [n, 'x\n'])), 'names')
    const files = parse(await diffOf(commit))
    expect(files.map((f) => f.path).sort()).toEqual([...names].sort())
    expect(files.every((f) => f.created && f.commit === commit)).toBe(true)
  })

  it('gives added runs with their line numbers in the new file', async () => {
    const base = await repo.commit({ 'a.txt': 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n' }, 'base')
    const next = await repo.commit({ 'a.txt': 'l1\nNEW2\nl3\nl4\nl5\nl6\nNEW7a\nNEW7b\nl7\nl8\nNEW-END' }, 'edit')
    const [file] = parse(await diffOf(next))
    expect(base).not.toBe(next)
    expect(file?.runs).toEqual([
      { firstLine: 2, lines: ['NEW2'] },
      { firstLine: 7, lines: ['NEW7a', 'NEW7b'] },
      { firstLine: 11, lines: ['NEW-END'] },
    ])
    expect(file?.created).toBe(false)
  })

  it('content that looks like headers stays content', async () => {
    const tricky = ['diff --git a/x b/x', '+++ b/evil', '--- a/evil', '@@ -1 +1 @@', 'index 0000000..1111111', 'a'.repeat(40), 'Binary files a and b differ', 'new file mode 100644', ''].join('\n')
    const commit = await repo.commit({ 'tricky.txt': tricky }, 'tricky')
    const files = parse(await diffOf(commit))
    expect(files).toHaveLength(1)
    expect(files[0]?.runs).toEqual([{ firstLine: 1, lines: tricky.split('\n').slice(0, -1) }])
  })

  it('marks binary, deleted, empty and mode-only files', async () => {
    const first = await repo.commit({ 'bin.dat': Buffer.from([0, 1, 2, 3, 0, 255]), 'gone.txt': 'bye\n', 'mode.sh': 'echo\n' }, 'first')
    await chmod(join(repo.dir, 'mode.sh'), 0o755)
    const second = await repo.commit({ 'gone.txt': null, 'empty.txt': '' }, 'second')
    const files = parse(await diffOf(first, second))
    const byPath = new Map(files.map((f) => [`${f.commit === first ? 1 : 2}:${f.path}`, f]))
    const blob = await repo.run('rev-parse', `${first}:bin.dat`)
    expect(byPath.get('1:bin.dat')).toMatchObject({ binary: true, created: true, newBlob: blob, runs: [] })
    expect(byPath.get('2:gone.txt')).toMatchObject({ deleted: true })
    expect(byPath.get('2:empty.txt')).toMatchObject({ created: true, runs: [], addedBytes: 0 })
    expect(byPath.get('2:mode.sh')).toMatchObject({ created: false, runs: [] })
  })

  it('for a merge, keeps only lines that are new against every parent', async () => {
    await repo.commit({ 'f.txt': 'one\ntwo\n' }, 'base')
    await repo.run('checkout', '-q', '-b', 'side')
    await repo.commit({ 'f.txt': 'one\nside\ntwo\n' }, 'side')
    await repo.run('checkout', '-q', 'main')
    await repo.commit({ 'f.txt': 'zero\none\ntwo\n' }, 'main')
    await repo.run('merge', '-q', '--no-commit', 'side').catch(() => '')
    await repo.commit({ 'f.txt': 'zero\none\nside\ntwo\nevil\n' }, 'merge')
    const merge = await repo.run('rev-parse', 'HEAD')
    expect((await repo.run('rev-list', '--parents', '-n1', 'HEAD')).split(' ')).toHaveLength(3)
    const [file] = parse(await diffOf(merge))
    expect(file?.runs).toEqual([{ firstLine: 5, lines: ['evil'] }])
  })

  it('stops keeping a file past the cap but keeps counting', async () => {
    const commit = await repo.commit({ 'big.txt': 'abcdefghi\n'.repeat(500) }, 'big')
    const [file] = parse(await diffOf(commit), 1000)
    expect(file).toMatchObject({ oversized: true, runs: [], addedBytes: 5000 })
  })
})

describe('PatchParser on hand-made output', () => {
  it('reads a blank context line printed as an empty line', () => {
    const text = ['c'.repeat(40), 'diff --git a/x b/x', 'index 1..2 100644', '--- a/x', '+++ b/x', '@@ -1,3 +1,4 @@', ' a', '', '+added', ' b', ''].join('\n')
    expect(parse(text)[0]?.runs).toEqual([{ firstLine: 3, lines: ['added'] }])
  })

  it('takes the name from +++ when the header names two paths', () => {
    const text = ['c'.repeat(40), 'diff --git a/old name b/new name', '--- a/old name', '+++ b/new name\t', '@@ -0,0 +1 @@', '+x', ''].join('\n')
    expect(parse(text)[0]?.path).toBe('new name')
  })
})
