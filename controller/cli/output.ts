import { stringify } from 'yaml'

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json'

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table'
  if (value === 'yaml' || value === 'json' || value === 'wide') return value
  throw new Error(`unknown output format "${value}"; use yaml, json or wide`)
}

/** A kubectl-style table: upper-case headers, columns padded with three spaces. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

export function renderStructured(format: 'yaml' | 'json', value: unknown): string {
  return format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value, { lineWidth: 0 })
}

/** "5s", "3m", "2h", "4d", as kubectl prints ages. */
export function formatAge(fromIso: string | undefined, now = Date.now()): string {
  if (!fromIso) return '-'
  const ms = now - Date.parse(fromIso)
  if (!Number.isFinite(ms)) return '-'
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 120) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h`
  return `${Math.floor(h / 24)}d`
}
