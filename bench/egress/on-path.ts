/** Whether a command the bench may run is installed. */
import { spawn } from 'node:child_process'

/** Whether `command` is on PATH: it starts at all (with `args`, which should make it exit at once). */
export function onPath(command: string, args: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore' })
    child.once('error', () => resolve(false))
    child.once('exit', () => resolve(true))
  })
}
