import { lstat, readFile, realpath, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { SpecErrorCode } from './errors.js'

/** Specs are small; anything bigger is a mistake or an attack, refused before reading. */
export const MAX_SPEC_FILE_BYTES = 1024 * 1024

export type ReadResult =
  | { ok: true; text: string }
  | { ok: false; code: SpecErrorCode; message: string }

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Reads one spec file defensively: it must stay inside the (real) spec root,
 * be at most MAX_SPEC_FILE_BYTES, and be UTF-8 text.
 */
export async function readSpecFile(realRoot: string, relPath: string): Promise<ReadResult> {
  const abs = join(realRoot, relPath)
  try {
    const link = await lstat(abs)
    if (link.isSymbolicLink()) {
      const target = await realpath(abs)
      const rel = relative(realRoot, target)
      if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || rel.startsWith(sep)) {
        return { ok: false, code: 'outside-root', message: 'is a symlink to a file outside the spec folder; copy the file in instead' }
      }
    }
    const info = await stat(abs)
    if (!info.isFile()) return { ok: false, code: 'unreadable', message: 'is not a regular file' }
    if (info.size > MAX_SPEC_FILE_BYTES) {
      return { ok: false, code: 'too-large', message: `is ${formatBytes(info.size)}; spec files are limited to ${formatBytes(MAX_SPEC_FILE_BYTES)}` }
    }
    const bytes = await readFile(abs)
    if (bytes.includes(0)) return { ok: false, code: 'not-text', message: 'is not a text file (it contains NUL bytes)' }
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      return { ok: false, code: 'not-text', message: 'is not valid UTF-8 text' }
    }
    return { ok: true, text: text.startsWith('\uFEFF') ? text.slice(1) : text }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    return { ok: false, code: 'unreadable', message: `cannot be read (${code})` }
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${n} B`
}
