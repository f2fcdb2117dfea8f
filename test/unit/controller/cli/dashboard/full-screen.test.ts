import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FullScreenCrash, withFullScreen, type CrashSource } from '../../../../../controller/cli/dashboard/full-screen.js'
import { TempFolder } from '../../../../helpers/temp-folder.js'

/** A terminal that records raw-mode changes and what was written. */
function fakeTerminal() {
  const raw: boolean[] = []
  let written = ''
  return {
    input: { isTTY: true, setRawMode: (mode: boolean) => raw.push(mode), pause: () => undefined },
    output: { write: (text: string) => (written += text) },
    raw,
    written: () => written,
  }
}

const ENTER = '\x1b[?1049h\x1b[?25l'
const LEAVE = '\x1b[?25h\x1b[?1049l'

let folder: TempFolder
beforeEach(async () => {
  folder = await TempFolder.create('bottle-fullscreen-')
})
afterEach(async () => folder.dispose())

describe('withFullScreen: the terminal is always given back', () => {
  it('a normal end: enters, leaves once, raw mode off', async () => {
    const t = fakeTerminal()
    const source = new EventEmitter() as unknown as CrashSource
    expect(await withFullScreen({ ...t, crashLog: folder.join('crash.log'), process: source }, async () => 7)).toBe(7)
    expect(t.written()).toBe(ENTER + LEAVE)
    expect(t.raw.at(-1)).toBe(false)
    expect((source as unknown as EventEmitter).listenerCount('uncaughtException')).toBe(0)
  })

  it('suspend leaves for the attach and comes back', async () => {
    const t = fakeTerminal()
    await withFullScreen({ ...t, crashLog: folder.join('crash.log'), process: new EventEmitter() as unknown as CrashSource }, async (screen) => {
      await screen.suspend(async () => t.output.write('[attached]'))
    })
    expect(t.written()).toBe(`${ENTER}${LEAVE}[attached]${ENTER}${LEAVE}`)
  })

  it('a throw inside: the terminal is restored first, then one line says where the crash log is', async () => {
    const t = fakeTerminal()
    let err = ''
    const crashLog = folder.join('crash.log')
    const run = withFullScreen({ ...t, crashLog, err: { write: (s: string) => (err += s) }, process: new EventEmitter() as unknown as CrashSource }, async () => {
      throw new Error('render exploded')
    })
    await expect(run).rejects.toBeInstanceOf(FullScreenCrash)
    expect(t.written()).toBe(ENTER + LEAVE)
    expect(t.raw).toContain(false)
    expect(err).toBe(`bottle dashboard crashed; the details are in ${crashLog}\n`)
    expect(await readFile(crashLog, 'utf8')).toContain('render exploded')
  })

  it('an exception nobody caught, elsewhere in the process, is a crash too', async () => {
    const t = fakeTerminal()
    const source = new EventEmitter()
    const run = withFullScreen({ ...t, crashLog: folder.join('crash.log'), process: source as unknown as CrashSource }, () => new Promise(() => undefined))
    source.emit('uncaughtException', new Error('timer blew up'))
    await expect(run).rejects.toThrow(/crashed; the details are in/)
    expect(t.written()).toBe(ENTER + LEAVE)
  })
})
