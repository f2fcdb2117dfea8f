import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LocalFolderSource } from '../../../../../controller/spec/sources/local-folder-source.js'
import { TempFolder } from '../../../../helpers/temp-folder.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('LocalFolderSource', () => {
  let dir: TempFolder
  let source: LocalFolderSource
  beforeEach(async () => {
    dir = await TempFolder.create()
    await dir.write('agents/a.yaml', 'kind: Agent\n')
  })
  afterEach(async () => {
    await source.stop()
    await dir.dispose()
  })

  it('coalesces a burst of edits into one change', async () => {
    source = new LocalFolderSource(dir.path, { debounceMs: 80, maxWaitMs: 2000 })
    let changes = 0
    await source.start(() => changes++)
    for (let i = 0; i < 30; i++) {
      await dir.write('agents/a.yaml', `kind: Agent\n# edit ${i}\n`)
      // The scenario: edits 5 ms apart, each inside the 80 ms debounce of the one before.
      await sleep(5)
    }
    await vi.waitFor(() => expect(changes).toBeGreaterThan(0))
    // "Only one" is an absence, which only a window can show: longer than the debounce, shorter than maxWait.
    await sleep(300)
    expect(changes).toBe(1)
  })

  it('ignores status files, dot files and node_modules', async () => {
    source = new LocalFolderSource(dir.path, { debounceMs: 30, maxWaitMs: 200 })
    let changes = 0
    await source.start(() => changes++)
    await dir.write('agents/a.status.yaml', 'status: {}\n')
    await dir.write('.git/HEAD', 'ref: refs/heads/main\n')
    await dir.write('node_modules/x/index.yaml', 'x: 1\n')
    await dir.write('agents/.a.yaml.swp', 'junk')
    // An absence, which only a window can show: several debounce windows (30 ms) and the whole maxWait.
    await sleep(200)
    expect(changes).toBe(0)
    await dir.write('agents/b.yaml', 'kind: Agent\n')
    await vi.waitFor(() => expect(changes).toBe(1))
  })
})
