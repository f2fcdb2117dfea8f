import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export class TempDir {
  private constructor(readonly path: string) {}
  static async create(prefix: string): Promise<TempDir> {
    return new TempDir(await mkdtemp(join(tmpdir(), prefix)))
  }
  async write(rel: string, content: string): Promise<void> {
    await mkdir(dirname(join(this.path, rel)), { recursive: true })
    await writeFile(join(this.path, rel), content)
  }
  async remove(rel: string): Promise<void> {
    await rm(join(this.path, rel), { force: true })
  }
  async dispose(): Promise<void> {
    await rm(this.path, { recursive: true, force: true })
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
