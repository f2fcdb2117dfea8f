import { Writable } from 'node:stream'
import { main } from '../../controller/cli/main.js'

/** Runs the CLI in-process, as `bottle <args>`, capturing what it writes. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString('utf8'))
        done()
      },
    })
  const code = await main(['node', 'bottle', ...args], { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) })
  return { code, stdout, stderr }
}
