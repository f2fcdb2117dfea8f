/**
 * A writer of the cpio "newc" format, the one the kernel unpacks as an
 * initramfs. Written here rather than run as a tool because hosts often lack
 * cpio, and the initramfs has only a handful of entries.
 */

export type CpioEntry =
  | { kind: 'file'; path: string; mode: number; data: Buffer }
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'symlink'; path: string; target: string }

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const S_IFLNK = 0o120000

function hex(value: number): string {
  return value.toString(16).padStart(8, '0')
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4)
}

function header(ino: number, mode: number, size: number, name: string): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8')
  const fields = [
    '070701',
    hex(ino),
    hex(mode),
    hex(0), // uid: everything in the initramfs belongs to root
    hex(0), // gid
    hex(1), // nlink
    hex(0), // mtime: fixed, so the archive's bytes depend only on its inputs
    hex(size),
    hex(0), // devmajor
    hex(0), // devminor
    hex(0), // rdevmajor
    hex(0), // rdevminor
    hex(nameBytes.length),
    hex(0), // check
  ].join('')
  const head = Buffer.concat([Buffer.from(fields, 'ascii'), nameBytes])
  return Buffer.concat([head, pad4(head.length)])
}

/** The archive, entries in the given order (a folder must come before what it holds). */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = []
  let ino = 1
  for (const entry of entries) {
    const path = entry.path.replace(/^\/+/, '')
    let mode: number
    let data: Buffer
    switch (entry.kind) {
      case 'file':
        mode = S_IFREG | (entry.mode & 0o7777)
        data = entry.data
        break
      case 'dir':
        mode = S_IFDIR | (entry.mode & 0o7777)
        data = Buffer.alloc(0)
        break
      case 'symlink':
        mode = S_IFLNK | 0o777
        data = Buffer.from(entry.target, 'utf8')
        break
    }
    parts.push(header(ino++, mode, data.length, path), data, pad4(data.length))
  }
  parts.push(header(0, 0, 0, 'TRAILER!!!'))
  return Buffer.concat(parts)
}
