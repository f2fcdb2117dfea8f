import { mkdtemp, mkdir, rm, writeFile, readFile, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** A throwaway folder with helpers to write and read files in it. */
export class TempFolder {
  private constructor(readonly path: string) {}

  static async create(prefix = 'bottle-test-'): Promise<TempFolder> {
    return new TempFolder(await mkdtemp(join(tmpdir(), prefix)))
  }

  async write(rel: string, content: string | Buffer): Promise<string> {
    const abs = join(this.path, rel)
    await mkdir(dirname(abs), { recursive: true })
    await writeFile(abs, content)
    return abs
  }

  async read(rel: string): Promise<string> {
    return readFile(join(this.path, rel), 'utf8')
  }

  async readOptional(rel: string): Promise<string | undefined> {
    return readFile(join(this.path, rel), 'utf8').catch(() => undefined)
  }

  async remove(rel: string): Promise<void> {
    await unlink(join(this.path, rel))
  }

  join(...parts: string[]): string {
    return join(this.path, ...parts)
  }

  async dispose(): Promise<void> {
    await rm(this.path, { recursive: true, force: true })
  }
}
