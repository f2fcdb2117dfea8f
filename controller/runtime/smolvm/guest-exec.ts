/**
 * How a command runs in a smolvm guest with an environment, a folder and a
 * user, when `machine exec` itself runs as root with the guest's own
 * environment. The environment travels in a file copied in with
 * `machine cp` (0600 on the host, in the Agent's 0700 folder, removed right
 * after), which the wrapper reads and deletes before anything else runs: a
 * value never becomes a word of a command line, where any user of the host
 * could read it.
 */
import { shellWord } from '../guest-part.js'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * `sh -c` source: $1 an env file to read and delete (or ''), $2 a folder to
 * run in (or ''), the rest the command. The user switch, when there is one,
 * is part of the command (`runuser -u <user> --`), after the environment is
 * read, since the file is root's.
 */
const WRAPPER = [
  'set -e',
  'if [ -n "$1" ]; then . "$1"; rm -f "$1"; fi',
  'if [ -n "$2" ]; then cd "$2"; fi',
  'shift 2',
  'exec "$@"',
].join('\n')

/** An env file the wrapper sources: one `export NAME='value'` a line. */
export function envFileText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw new RangeError(`${JSON.stringify(name)} is not an environment variable name`)
      return `export ${name}=${shellWord(value)}\n`
    })
    .join('')
}

export interface GuestCommand {
  argv: readonly string[]
  /** A guest path holding the env file, already copied in; absent: no environment beyond the guest's. */
  envFile?: string
  workdir?: string
  /** Runs as this user (`runuser -u`); absent: root, as `machine exec` does. */
  user?: string
}

/** The argv to hand `machine exec` for `command`. */
export function wrappedArgv(command: GuestCommand): string[] {
  if (command.argv.length === 0) throw new RangeError('empty command')
  const user = command.user === undefined || command.user === 'root' || command.user === '0' || command.user === '0:0' ? [] : ['runuser', '-u', userName(command.user), '--']
  return ['sh', '-c', WRAPPER, 'bottle-exec', command.envFile ?? '', command.workdir ?? '', ...user, ...command.argv]
}

/** `runuser -u` takes a name; a "uid:gid" part user keeps its user half. */
function userName(user: string): string {
  const name = user.split(':')[0] ?? user
  if (name === '') throw new RangeError(`user ${JSON.stringify(user)} names nobody`)
  return name
}
