import { readFile, stat } from 'node:fs/promises'
import type { GitGateFileCopy } from '../plan/render-git-gate-config.js'

/**
 * Reads the SSH identity files the git gate pushes with. They are the user's
 * keys: only the controller reads them, only the bundle's config folder gets
 * a copy (0600), and a key others can read is refused, as ssh itself would.
 */
export async function readIdentityFiles(copies: readonly GitGateFileCopy[]): Promise<{ values: Map<string, string>; problems: string[] }> {
  const values = new Map<string, string>()
  const problems: string[] = []
  for (const copy of copies) {
    try {
      const info = await stat(copy.source)
      if ((info.mode & 0o077) !== 0) {
        problems.push(`identityFile ${copy.source} (for git remote ${copy.remote}) is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`)
        continue
      }
      values.set(copy.target, await readFile(copy.source, 'utf8'))
    } catch (err) {
      problems.push(`identityFile ${copy.source} (for git remote ${copy.remote}) cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  return { values, problems }
}
