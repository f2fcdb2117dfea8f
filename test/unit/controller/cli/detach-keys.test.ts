import { describe, expect, it } from 'vitest'
import { DetachKeyDetector } from '../../../../controller/cli/detach-keys.js'

const P = '\x10' // ctrl-p
const Q = '\x11' // ctrl-q

/** Feeds each chunk in turn; returns what was passed on and whether it detached. */
function scanAll(chunks: string[], detector = new DetachKeyDetector()): { forwarded: string; detached: boolean } {
  let forwarded = ''
  for (const chunk of chunks) {
    const { forward, detached } = detector.scan(Buffer.from(chunk, 'latin1'))
    forwarded += forward.toString('latin1')
    if (detached) return { forwarded, detached }
  }
  return { forwarded, detached: false }
}

describe('DetachKeyDetector', () => {
  const cases: { name: string; chunks: string[]; forwarded: string; detached: boolean }[] = [
    { name: 'plain typing passes through untouched', chunks: ['echo hi\r'], forwarded: 'echo hi\r', detached: false },
    { name: 'ctrl-p ctrl-q in one read detaches', chunks: [`${P}${Q}`], forwarded: '', detached: true },
    { name: 'ctrl-p ctrl-q split across reads detaches', chunks: [P, Q], forwarded: '', detached: true },
    { name: 'keys typed before the sequence in the same read go first', chunks: [`ls${P}${Q}`], forwarded: 'ls', detached: true },
    { name: 'keys typed after the sequence in the same read are dropped', chunks: [`${P}${Q}rm -rf`], forwarded: '', detached: true },
    { name: 'ctrl-p followed by another key passes both through', chunks: [P, 'a'], forwarded: `${P}a`, detached: false },
    { name: 'ctrl-p followed by another key in one read passes both through', chunks: [`${P}a`], forwarded: `${P}a`, detached: false },
    { name: 'a lone ctrl-p is held until the next key decides', chunks: [P], forwarded: '', detached: false },
    { name: 'ctrl-p ctrl-p ctrl-q passes the first ctrl-p and detaches', chunks: [P, P, Q], forwarded: P, detached: true },
    { name: 'ctrl-q alone passes through', chunks: [Q], forwarded: Q, detached: false },
    { name: 'ctrl-q then ctrl-p ctrl-q detaches after passing the first ctrl-q', chunks: [`${Q}${P}`, Q], forwarded: Q, detached: true },
  ]

  it.each(cases)('$name', ({ chunks, forwarded, detached }) => {
    expect(scanAll(chunks)).toEqual({ forwarded, detached })
  })

  it('holds a partial match of a longer sequence across reads and releases it on a mismatch', () => {
    const detector = new DetachKeyDetector([1, 2, 3])
    expect(scanAll(['\x01', '\x02', 'x'], detector)).toEqual({ forwarded: '\x01\x02x', detached: false })
    expect(scanAll(['\x01\x01', '\x02', '\x03'], detector)).toEqual({ forwarded: '\x01', detached: true })
  })

  it('starts over after a detach', () => {
    const detector = new DetachKeyDetector()
    expect(scanAll([`${P}${Q}`], detector).detached).toBe(true)
    expect(scanAll(['a'], detector)).toEqual({ forwarded: 'a', detached: false })
  })
})
