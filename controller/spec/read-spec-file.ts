import { closeSync, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs'
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
 *
 * Synchronous on purpose: spec files are small, and four plain syscalls per
 * file beat the promise and thread-pool round trips of fs/promises by an
 * order of magnitude when a tree of a thousand files is loaded.
 */
export function readSpecFile(realRoot: string, relPath: string): ReadResult {
  const abs = join(realRoot, relPath)
  let fd: number | undefined
  try {
    if (lstatSync(abs).isSymbolicLink()) {
      const rel = relative(realRoot, realpathSync(abs))
      if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep)) {
        return { ok: false, code: 'outside-root', message: 'is a symlink to a file outside the spec folder; copy the file in instead' }
      }
    }
    fd = openSync(abs, 'r')
    const info = fstatSync(fd)
    if (!info.isFile()) return { ok: false, code: 'unreadable', message: 'is not a regular file' }
    if (info.size > MAX_SPEC_FILE_BYTES) {
      return { ok: false, code: 'too-large', message: `is ${formatBytes(info.size)}; spec files are limited to ${formatBytes(MAX_SPEC_FILE_BYTES)}` }
    }
    // Read at most one byte past the limit: a file growing while we read is still refused.
    const buffer = Buffer.allocUnsafe(Math.min(info.size, MAX_SPEC_FILE_BYTES) + 1)
    let length = 0
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null)
      if (n === 0) break
      length += n
      if (length === buffer.length) break
    }
    if (length > MAX_SPEC_FILE_BYTES) return { ok: false, code: 'too-large', message: `is larger than ${formatBytes(MAX_SPEC_FILE_BYTES)}, the limit for spec files` }
    const bytes = buffer.subarray(0, length)
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
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${n} B`
}
