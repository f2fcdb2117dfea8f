/**
 * Paints the dashboard's lines (dashboard-model.ts) with ink and hands every
 * key back. It holds no state of its own: the command rerenders it with new
 * lines whenever the model, the data or the terminal's size changes.
 * Written with `createElement` rather than JSX, so the sources stay plain
 * `.ts` for the compiler, the test runner and the layer lint alike.
 */
import { Box, Text, useInput, type Key as InkKey } from 'ink'
import { createElement as h, type ReactElement } from 'react'
import type { Key, LineStyle, ScreenLine } from './dashboard-model.js'

export interface DashboardViewProps {
  lines: readonly ScreenLine[]
  onKey: (key: Key) => void
}

const STYLES: Record<LineStyle, { color?: string; bold?: boolean; inverse?: boolean; dimColor?: boolean }> = {
  title: { bold: true, inverse: true },
  header: { bold: true },
  selected: { inverse: true },
  dim: { dimColor: true },
  added: { color: 'green' },
  removed: { color: 'red' },
  refused: { color: 'yellow' },
  allowed: { color: 'green' },
  error: { color: 'red', bold: true },
  section: { color: 'cyan' },
  plain: {},
}

export function DashboardView({ lines, onKey }: DashboardViewProps): ReactElement {
  useInput((input: string, key: InkKey) => onKey(toKey(input, key)))
  return h(
    Box,
    { flexDirection: 'column' },
    // A line is never empty for ink: an empty Text collapses and the screen would shift up.
    ...lines.map((line, i) => h(Text, { key: i, wrap: 'truncate', ...STYLES[line.style] }, line.text === '' ? ' ' : line.text)),
  )
}

export function toKey(input: string, key: InkKey): Key {
  return {
    input,
    upArrow: key.upArrow,
    downArrow: key.downArrow,
    pageUp: key.pageUp,
    pageDown: key.pageDown,
    return: key.return,
    escape: key.escape,
    tab: key.tab,
    backspace: key.backspace,
    delete: key.delete,
    ctrl: key.ctrl,
  }
}
