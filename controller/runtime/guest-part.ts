/**
 * A part's main process inside a VM box (the vm and smolvm runtimes alike),
 * as a container's is inside a container: started once per boot, its output kept in a file, its pid and
 * its exit code where the host can read them without starting a process
 * in the guest (the guest agent reads files itself). A part that runs to
 * completion is restarted after a failure, with doubling backoff, as the
 * Docker engine's on-failure policy does.
 */

/** What the image says about running it, which `docker run` would apply and a VM must apply itself. */
export interface ImageRunConfig {
  env: Record<string, string>
  workdir?: string
  user?: string
  entrypoint: string[]
  cmd: string[]
}

/** The parts of a Docker image's config (`docker image inspect` .Config) that say how it runs. */
export interface DockerImageConfig {
  Env?: string[] | null
  WorkingDir?: string
  User?: string
  Entrypoint?: string[] | string | null
  Cmd?: string[] | string | null
}

/** An image's run config as `docker run` reads it: a string command is a shell command. */
export function imageRunConfig(config: DockerImageConfig | undefined): ImageRunConfig {
  const env: Record<string, string> = {}
  for (const entry of config?.Env ?? []) {
    const at = entry.indexOf('=')
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1)
  }
  const list = (value: string[] | string | null | undefined): string[] =>
    value === null || value === undefined ? [] : typeof value === 'string' ? ['/bin/sh', '-c', value] : value
  return {
    env,
    ...(config?.WorkingDir ? { workdir: config.WorkingDir } : {}),
    ...(config?.User ? { user: config.User } : {}),
    entrypoint: list(config?.Entrypoint),
    cmd: list(config?.Cmd),
  }
}

/** Where the runner keeps its files in the guest (tmpfs: a new boot starts clean). */
export const GUEST_PART_DIR = '/run/bottle-part'

export const GUEST_PART_FILES = {
  output: `${GUEST_PART_DIR}/output`,
  pid: `${GUEST_PART_DIR}/pid`,
  exit: `${GUEST_PART_DIR}/exit`,
  restarts: `${GUEST_PART_DIR}/restarts`,
} as const

/**
 * The runner, as `sh -c` source: $1 is its folder, $2 how many restarts a
 * failure may have, the rest is the command. Files are written under a temporary name
 * and renamed, so the host never reads half a number.
 */
const RUNNER = [
  'dir=$1; allowed=$2; shift 2',
  'restarts=0; delay=1',
  'while :; do',
  '  "$@" >>"$dir/output" 2>&1 </dev/null &',
  '  child=$!',
  '  echo "$child" >"$dir/pid.tmp" && mv "$dir/pid.tmp" "$dir/pid"',
  '  wait "$child"; code=$?',
  '  if [ "$code" -eq 0 ] || [ "$restarts" -ge "$allowed" ]; then break; fi',
  '  restarts=$((restarts + 1))',
  '  echo "$restarts" >"$dir/restarts.tmp" && mv "$dir/restarts.tmp" "$dir/restarts"',
  '  sleep "$delay"; delay=$((delay * 2))',
  'done',
  'echo "$code" >"$dir/exit.tmp" && mv "$dir/exit.tmp" "$dir/exit"',
].join('\n')

/** What a part runs and as whom, resolved against its image as `docker run` would. */
export interface GuestPartCommand {
  argv: string[]
  env: Record<string, string>
  user?: string
  workdir?: string
}

export interface PartRunRequest {
  command?: string[]
  env: Record<string, string>
  user?: string
  workdir?: string
}

/** The image's entrypoint with the part's command (else the image's), its environment under the part's, its user and folder unless the part names them. */
export function resolvePartCommand(image: ImageRunConfig, part: PartRunRequest): GuestPartCommand {
  const argv = [...image.entrypoint, ...(part.command ?? image.cmd)]
  if (argv.length === 0) throw new RangeError('the part has no command and its image none either')
  const user = part.user ?? image.user
  const workdir = part.workdir ?? image.workdir
  return {
    argv,
    env: { ...image.env, ...part.env },
    ...(user === undefined || user === '' ? {} : { user }),
    ...(workdir === undefined || workdir === '' ? {} : { workdir }),
  }
}

/** Single-quoted for sh: nothing in it is read by the shell. */
export function shellWord(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

/** As root, shell source: a clean runner folder the part's user may write. */
export function prepareScript(user: string | undefined, dir: string = GUEST_PART_DIR): string {
  const chown = user === undefined ? '' : ` && chown ${shellWord(user)} ${shellWord(dir)}`
  return `rm -rf ${shellWord(dir)} && mkdir -m 0755 ${shellWord(dir)}${chown}`
}

export function prepareArgv(user: string | undefined, dir: string = GUEST_PART_DIR): string[] {
  return ['sh', '-c', prepareScript(user, dir)]
}

/** As the part's user: the runner, detached into its own session so the exec that starts it returns at once. */
export function launchArgv(command: GuestPartCommand, restartsOnFailure: number, dir: string = GUEST_PART_DIR): string[] {
  if (!Number.isInteger(restartsOnFailure) || restartsOnFailure < 0) throw new RangeError(`restarts ${restartsOnFailure} must be a whole number`)
  // The runner's own output goes nowhere: a pipe it kept open would hold the starting exec open with it.
  return ['sh', '-c', 'exec setsid -f sh -c "$0" bottle-part "$@" </dev/null >/dev/null 2>&1', RUNNER, dir, String(restartsOnFailure), ...command.argv]
}

/** A number the runner wrote, or undefined for a file that is missing or not (yet) a number. */
export function parseCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const trimmed = text.trim()
  return /^\d+$/.test(trimmed) ? Number(trimmed) : undefined
}
