import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

export type SpecFileFormat = 'yaml' | 'markdown'

export interface SpecFileEntry {
  /** Relative to the spec root, forward slashes. */
  path: string
  format: SpecFileFormat
  /** `bottles/` and `agents/` folders name the kind of .md specs that do not say it themselves. */
  folderKind?: 'Bottle' | 'Agent'
  /** Files under proposals/ are read as Proposals only. */
  inProposals: boolean
  /** Read the content from this absolute path instead of root/path (a file being applied). */
  source?: string
}

const SKIPPED_DIRS = new Set(['node_modules'])

/** The folder of the spec repo whose subfolders an Agent's spec.skills names. */
export const SKILLS_DIR = 'skills'

/** A status file is the controller's output, never a spec, whatever its content. */
export function isStatusFile(name: string): boolean {
  return name.endsWith('.status.yaml') || name.endsWith('.status.yml')
}

export function specFormatOf(name: string): SpecFileFormat | undefined {
  if (name.startsWith('.') || isStatusFile(name)) return undefined
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return 'yaml'
  if (name.endsWith('.md')) return 'markdown'
  return undefined
}

/**
 * Lists candidate spec files under `root`, sorted. Dot files and folders are
 * skipped, as are status files. Symlinked folders are not followed (a
 * symlinked file is listed, and the reader refuses it if it leaves the root).
 */
export async function listSpecFiles(root: string): Promise<SpecFileEntry[]> {
  const out: SpecFileEntry[] = []
  await walk(root, '', out)
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return out
}

async function walk(root: string, rel: string, out: SpecFileEntry[]): Promise<void> {
  let entries
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true })
  } catch {
    return // a folder that vanished or cannot be read holds no specs we can see
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue
    const path = rel ? `${rel}/${entry.name}` : entry.name
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) await walk(root, path, out)
      continue
    }
    if (!entry.isFile() && !entry.isSymbolicLink()) continue
    const spec = specFileEntry(path)
    if (spec) out.push(spec)
  }
}

/** How a file at `path` (relative to the root) is read, or undefined when it is not a spec file. */
export function specFileEntry(path: string, source?: string): SpecFileEntry | undefined {
  const parts = path.split('/')
  // skills/<name>/ holds the agents' skills (SKILL.md has frontmatter of its own), never specs.
  if (parts[0] === SKILLS_DIR && parts.length > 1) return undefined
  const format = specFormatOf(parts[parts.length - 1]!)
  if (!format) return undefined
  const parent = parts.length > 1 ? parts[parts.length - 2] : undefined
  const folderKind = parent === 'bottles' ? 'Bottle' : parent === 'agents' ? 'Agent' : undefined
  return { path, format, inProposals: parts[0] === 'proposals', ...(folderKind ? { folderKind } : {}), ...(source ? { source } : {}) }
}
