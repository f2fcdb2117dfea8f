/**
 * One line of a sidecar bundle's log as the fields pino wrote, or undefined.
 * The lines come from the agent's side of the world (it chose the hosts and
 * paths in them), so an overlong line or one that is not a JSON object is
 * dropped rather than read; the bundle's own decision lines stay far below
 * the bound.
 */
const MAX_LINE = 16 * 1024

export type BundleLogFields = Record<string, unknown>

export function parseBundleLogLine(line: string): BundleLogFields | undefined {
  if (line.length > MAX_LINE || line[0] !== '{') return undefined
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as BundleLogFields) : undefined
}
