import { describe, expect, it } from 'vitest'
import { writeCpio } from '../../../../../controller/runtime/vm/cpio.js'
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from '../../../../../controller/runtime/vm/frames.js'

/** Reads a newc archive back: name, mode and data of each entry. */
function readCpio(archive: Buffer): Array<{ name: string; mode: number; data: string }> {
  const entries: Array<{ name: string; mode: number; data: string }> = []
  let offset = 0
  const align = (n: number): number => (n + 3) & ~3
  for (;;) {
    const head = archive.subarray(offset, offset + 110).toString('ascii')
    expect(head.slice(0, 6)).toBe('070701')
    const field = (i: number): number => Number.parseInt(head.slice(6 + i * 8, 14 + i * 8), 16)
    const mode = field(1)
    const size = field(6)
    const nameSize = field(11)
    const name = archive.subarray(offset + 110, offset + 110 + nameSize - 1).toString('utf8')
    offset = align(offset + 110 + nameSize)
    const data = archive.subarray(offset, offset + size).toString('utf8')
    offset = align(offset + size)
    if (name === 'TRAILER!!!') return entries
    entries.push({ name, mode, data })
  }
}

describe('writeCpio', () => {
  it('writes newc entries the kernel can unpack, with types, modes and padding', () => {
    const archive = writeCpio([
      { kind: 'dir', path: '/bin', mode: 0o755 },
      { kind: 'file', path: 'bin/busybox', mode: 0o755, data: Buffer.from('abcde') },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'file', path: 'init', mode: 0o644, data: Buffer.from('') },
    ])
    expect(archive.length % 4).toBe(0)
    expect(readCpio(archive)).toEqual([
      { name: 'bin', mode: 0o040755, data: '' },
      { name: 'bin/busybox', mode: 0o100755, data: 'abcde' },
      { name: 'bin/sh', mode: 0o120777, data: 'busybox' },
      { name: 'init', mode: 0o100644, data: '' },
    ])
  })

  it('depends only on its inputs', () => {
    const entries = [{ kind: 'file' as const, path: 'a', mode: 0o600, data: Buffer.from('x') }]
    expect(writeCpio(entries).equals(writeCpio(entries))).toBe(true)
  })
})

describe('frames', () => {
  it('decodes frames split anywhere across chunks', () => {
    const messages = [{ id: '1', op: 'ping' }, { id: '2', op: 'exec', argv: ['true'] }, { text: 'é'.repeat(1000) }]
    const stream = Buffer.concat(messages.map((m) => encodeFrame(m)))
    for (const size of [1, 3, 7, stream.length]) {
      const decoder = new FrameDecoder()
      const out: unknown[] = []
      for (let i = 0; i < stream.length; i += size) out.push(...decoder.push(stream.subarray(i, i + size)))
      expect(out).toEqual(messages)
    }
  })

  it('rejects a length no real message has', () => {
    const header = Buffer.alloc(4)
    header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0)
    expect(() => new FrameDecoder().push(header)).toThrow(RangeError)
  })
})
