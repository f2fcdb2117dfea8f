import { symlink, writeFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { formatSpecError } from '../../../../controller/spec/errors.js'
import { loadSpecTree } from '../../../../controller/spec/load-spec-tree.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

const VALID_BOTTLE = 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: ok}\nspec: {}\n'

describe('hostile input is refused per file, quickly, and never stops the other files', () => {
  let dir: TempFolder
  let outside: TempFolder
  beforeEach(async () => {
    dir = await TempFolder.create()
    outside = await TempFolder.create()
    await dir.write('bottles/ok.yaml', VALID_BOTTLE)
  })
  afterEach(async () => {
    await dir.dispose()
    await outside.dispose()
  })

  const cases: { name: string; setup: (d: TempFolder, o: TempFolder) => Promise<void>; want: RegExp }[] = [
    { name: 'a 10 MB file', setup: async (d) => void (await d.write('bottles/big.yaml', 'a: ' + 'x'.repeat(10 * 1024 * 1024))), want: /^bottles\/big\.yaml:1:1: file is 10\.0 MiB; spec files are limited to 1\.0 MiB$/ },
    { name: 'a symlink leaving the folder', setup: async (d, o) => { await o.write('secret.yaml', VALID_BOTTLE); await symlink(o.join('secret.yaml'), d.join('bottles/link.yaml')) }, want: /^bottles\/link\.yaml:1:1: file is a symlink to a file outside the spec folder/ },
    { name: 'binary junk', setup: async (d) => void (await d.write('bottles/junk.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff]))), want: /^bottles\/junk\.yaml:1:1: file is not a text file/ },
    { name: 'invalid UTF-8', setup: async (d) => void (await d.write('bottles/latin1.yaml', Buffer.from('a: caf\xe9\n', 'latin1'))), want: /^bottles\/latin1\.yaml:1:1: file is not valid UTF-8 text$/ },
    { name: 'an alias bomb', setup: async (d) => void (await d.write('bottles/bomb.yaml', 'a: &a [x,x,x,x,x,x,x,x]\n' + Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} [${Array(8).fill(i ? `*b${i - 1}` : '*a').join(',')}]`).join('\n'))), want: /^bottles\/bomb\.yaml:1:1: uses too many YAML aliases/ },
    { name: 'flow nesting 100,000 deep', setup: async (d) => void (await d.write('bottles/deep.yaml', 'a: ' + '['.repeat(100_000) + ']'.repeat(100_000))), want: /^bottles\/deep\.yaml:1:68: nests collections more than 64 levels deep/ },
    { name: 'indentation 600 deep', setup: async (d) => void (await d.write('bottles/indent.yaml', Array.from({ length: 600 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'))), want: /^bottles\/indent\.yaml:\d+:\d+: is indented more than 512 columns/ },
    { name: 'a YAML syntax error', setup: async (d) => void (await d.write('bottles/broken.yaml', 'kind: Bottle\n  bad: [indent\n')), want: /^bottles\/broken\.yaml:\d+:\d+: YAML syntax: / },
  ]

  it.each(cases)('$name', async ({ setup, want }) => {
    await setup(dir, outside)
    const started = performance.now()
    const tree = await loadSpecTree(dir.path)
    const elapsed = performance.now() - started
    expect(tree.errors.map(formatSpecError)).toEqual([expect.stringMatching(want)])
    expect(tree.bottles.has('ok')).toBe(true)
    // Not a benchmark: a guard against the parser being handed the whole attack (seconds, not milliseconds).
    expect(elapsed).toBeLessThan(3000)
  })

  it('marks a file it could not parse as incomplete, so the controller keeps what it defined', async () => {
    await writeFile(dir.join('bottles/broken.yaml'), 'kind: [')
    const tree = await loadSpecTree(dir.path)
    expect(tree.files.find((f) => f.path === 'bottles/broken.yaml')?.complete).toBe(false)
    expect(tree.files.find((f) => f.path === 'bottles/ok.yaml')?.complete).toBe(true)
  })
})
