import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  contextDigest,
  folderContext,
  listContextFiles,
  packableContext,
  type BuildContext,
} from '../../../../../controller/runtime/docker/build-context.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bottle-context-'))
  writeFileSync(join(dir, 'Dockerfile'), 'FROM base\nCOPY . /app\n')
  mkdirSync(join(dir, 'src'))
  writeFileSync(join(dir, 'src', 'main.sh'), 'echo hi\n')
})

afterEach(() => rmSync(dir, { recursive: true, force: true }))

const digestOf = async (args: Record<string, string> = { BASE_IMAGE: 'base:1' }): Promise<string> =>
  contextDigest(await folderContext(dir, 'Dockerfile', args))

describe('listContextFiles', () => {
  it('lists files and symlinks, never .git', async () => {
    mkdirSync(join(dir, '.git'))
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref: main\n')
    symlinkSync('main.sh', join(dir, 'src', 'link.sh'))
    expect(await listContextFiles(dir)).toEqual(['Dockerfile', 'src/link.sh', 'src/main.sh'])
  })

  it('applies .dockerignore, including exceptions', async () => {
    mkdirSync(join(dir, 'node_modules'))
    writeFileSync(join(dir, 'node_modules', 'x.js'), '')
    writeFileSync(join(dir, 'secret.env'), 'X=1\n')
    writeFileSync(join(dir, 'keep.env'), 'Y=1\n')
    writeFileSync(join(dir, '.dockerignore'), 'node_modules\n*.env\n!keep.env\n')
    expect(await listContextFiles(dir)).toEqual(['.dockerignore', 'Dockerfile', 'keep.env', 'src/main.sh'])
  })
})

describe('contextDigest', () => {
  const changes = [
    { name: 'a file content', change: () => writeFileSync(join(dir, 'src', 'main.sh'), 'echo bye\n') },
    { name: 'the Dockerfile', change: () => writeFileSync(join(dir, 'Dockerfile'), 'FROM base\n') },
    { name: 'an executable bit (COPY keeps modes)', change: () => chmodSync(join(dir, 'src', 'main.sh'), 0o755) },
    { name: 'a new file', change: () => writeFileSync(join(dir, 'src', 'extra.txt'), '') },
    { name: 'a renamed file', change: () => { rmSync(join(dir, 'src', 'main.sh')); writeFileSync(join(dir, 'src', 'other.sh'), 'echo hi\n') } },
  ]
  it.each(changes)('changes with $name', async ({ change }) => {
    const before = await digestOf()
    change()
    expect(await digestOf()).not.toBe(before)
  })

  it('changes with the base image argument and not with a file timestamp', async () => {
    const before = await digestOf()
    expect(await digestOf({ BASE_IMAGE: 'node:22-slim' })).not.toBe(before)
    writeFileSync(join(dir, 'src', 'main.sh'), readFileSync(join(dir, 'src', 'main.sh')))
    expect(await digestOf()).toBe(before)
  })

  it('depends on where a file lands in the context, not where it comes from', async () => {
    const staged: BuildContext = {
      files: [
        { path: 'Dockerfile', source: join(dir, 'Dockerfile') },
        { path: 'src/main.sh', source: join(dir, 'src', 'main.sh') },
      ],
      dockerfile: 'Dockerfile',
      buildArgs: { BASE_IMAGE: 'base:1' },
    }
    expect(await contextDigest(staged)).toBe(await digestOf())
  })

  it('takes a given digest for a file without reading it, so the file may not exist yet', async () => {
    const withPinned = (digest: string): BuildContext => ({
      files: [
        { path: 'Dockerfile', source: join(dir, 'Dockerfile') },
        { path: 'cli.tgz', source: join(dir, 'not-downloaded.tgz'), digest },
      ],
      dockerfile: 'Dockerfile',
      buildArgs: {},
    })
    const first = await contextDigest(withPinned('npm:cli@1.0.0:sha512-a'))
    expect(await contextDigest(withPinned('npm:cli@1.0.0:sha512-a'))).toBe(first)
    expect(await contextDigest(withPinned('npm:cli@1.0.1:sha512-b'))).not.toBe(first)
  })
})

describe('packableContext', () => {
  it('packs a folder context in place and stages a composed one, removing the stage afterwards', async () => {
    const inPlace = await packableContext(await folderContext(dir, 'Dockerfile', {}), join(dir, 'stage'))
    expect(inPlace.dir).toBe(dir)
    await inPlace.cleanup()

    const composed = await packableContext(
      { files: [{ path: 'bundle/init.mjs', source: join(dir, 'src', 'main.sh') }], dockerfile: 'Dockerfile', buildArgs: {} },
      join(dir, 'stage'),
    )
    expect(composed.src).toEqual(['bundle/init.mjs'])
    expect(readFileSync(join(composed.dir, 'bundle/init.mjs'), 'utf8')).toBe('echo hi\n')
    // On the same filesystem the stage links rather than copies (a CLI tarball is a few hundred MB).
    expect(statSync(join(composed.dir, 'bundle/init.mjs')).ino).toBe(statSync(join(dir, 'src', 'main.sh')).ino)
    await composed.cleanup()
    expect(readFileSync(join(dir, 'src', 'main.sh'), 'utf8')).toBe('echo hi\n')
    expect(() => readFileSync(join(composed.dir, 'bundle/init.mjs'))).toThrow(/ENOENT/)
  })
})
