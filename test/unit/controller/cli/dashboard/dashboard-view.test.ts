import { render } from 'ink-testing-library'
import { createElement as h } from 'react'
import { describe, expect, it } from 'vitest'
import type { Key } from '../../../../../controller/cli/dashboard/dashboard-model.js'
import { DashboardView } from '../../../../../controller/cli/dashboard/dashboard-view.js'

const tick = () => new Promise((r) => setTimeout(r, 20))

describe('DashboardView: paints the lines, hands keys back', () => {
  it('one terminal row per line, empty lines kept, long lines cut', async () => {
    const { lastFrame, unmount } = render(
      h(DashboardView, {
        lines: [
          { text: 'bottle dashboard', style: 'title' },
          { text: '', style: 'plain' },
          { text: '+      - host: docs.origin.test', style: 'added' },
          { text: 'x'.repeat(300), style: 'plain' },
        ],
        onKey: () => undefined,
      }),
    )
    const frame = lastFrame() ?? ''
    // the testing library strips no colours; compare the text
    const text = frame.replace(/\x1b\[[0-9;]*m/g, '')
    const rows = text.split('\n')
    // the empty line still takes its row (ink trims the space that holds it)
    expect(rows.slice(0, 3)).toEqual(['bottle dashboard', '', '+      - host: docs.origin.test'])
    expect(rows).toHaveLength(4)
    expect(rows[3]!.length).toBeLessThan(300)
    unmount()
  })

  it('keys arrive as the model reads them', async () => {
    const keys: Key[] = []
    const { stdin, unmount } = render(h(DashboardView, { lines: [{ text: 'x', style: 'plain' }], onKey: (k: Key) => keys.push(k) }))
    await tick()
    stdin.write('a')
    await tick()
    stdin.write('\r')
    await tick()
    stdin.write('\x1b[B')
    await tick()
    expect(keys.map((k) => ({ input: k.input, return: k.return, downArrow: k.downArrow }))).toEqual([
      { input: 'a', return: false, downArrow: false },
      { input: '\r', return: true, downArrow: false },
      { input: '', return: false, downArrow: true },
    ])
    unmount()
  })
})
