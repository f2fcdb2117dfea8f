/**
 * The world every git subprocess of the gate sees. The daemon runs as the
 * controller's uid, possibly with HOME unset and no passwd entry, so git gets
 * a home of its own under the state folder and a global config the gate
 * wrote (no system config, no user config, never the user's ~/.ssh). Nothing
 * from the daemon's own environment leaks into git except PATH and the TLS
 * trust settings; no secret is ever put in an environment variable.
 *
 * State folder layout (names that cannot clash with `<remote>.git`):
 *   <remote>.git        one bare mirror per remote
 *   status.json         what the controller reads (status-file.ts)
 *   .home/              HOME and XDG_CONFIG_HOME of git; .home/gitconfig
 *   .hooks/pre-receive  the push scan and forward (hook-scripts.ts)
 *   .bin/credential-helper  hands https tokens to git over a pipe
 *   .pushes/            one report per push, from the hook to the daemon
 */
import { join } from 'node:path'
import type { GateRemote } from './load-config.js'

export interface GatePaths {
  configDir: string
  stateDir: string
  home: string
  globalConfig: string
  hooksDir: string
  preReceiveHook: string
  binDir: string
  credentialHelper: string
  pushReports: string
  statusFile: string
}

export function gatePaths(configDir: string, stateDir: string): GatePaths {
  const home = join(stateDir, '.home')
  const hooksDir = join(stateDir, '.hooks')
  const binDir = join(stateDir, '.bin')
  return {
    configDir,
    stateDir,
    home,
    globalConfig: join(home, 'gitconfig'),
    hooksDir,
    preReceiveHook: join(hooksDir, 'pre-receive'),
    binDir,
    credentialHelper: join(binDir, 'credential-helper'),
    pushReports: join(stateDir, '.pushes'),
    statusFile: join(stateDir, 'status.json'),
  }
}

export function mirrorPath(paths: Pick<GatePaths, 'stateDir'>, remote: string): string {
  return join(paths.stateDir, `${remote}.git`)
}

/** Variables the hook and the credential helper read to find their way (paths and names only). */
export const ENV = {
  configDir: 'BOTTLE_GIT_GATE_CONFIG_DIR',
  stateDir: 'BOTTLE_GIT_GATE_STATE_DIR',
  remote: 'BOTTLE_GIT_GATE_REMOTE',
  pushReport: 'BOTTLE_GIT_GATE_PUSH_REPORT',
  role: 'BOTTLE_GIT_GATE_ROLE',
} as const

/** Inherited because operators legitimately set them for the whole bundle (corporate CAs). */
const PASS_THROUGH = ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'TZ'] as const
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The environment of every git the gate runs. */
export function gitEnvironment(paths: GatePaths, inherited: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {
    PATH: inherited.PATH || DEFAULT_PATH,
    HOME: paths.home,
    XDG_CONFIG_HOME: join(paths.home, '.config'),
    GIT_CONFIG_GLOBAL: paths.globalConfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    LANG: 'C',
    [ENV.configDir]: paths.configDir,
    [ENV.stateDir]: paths.stateDir,
  }
  for (const name of PASS_THROUGH) {
    const value = inherited[name]
    if (value !== undefined && value !== '') env[name] = value
  }
  return env
}

/** What git needs to talk to one remote's upstream: the pinned ssh command, or the remote's name for the credential helper. */
export function upstreamEnvironment(base: Readonly<Record<string, string>>, remote: GateRemote): Record<string, string> {
  const env: Record<string, string> = { ...base, [ENV.remote]: remote.name }
  if (remote.upstream.protocol === 'ssh') {
    env.GIT_SSH_COMMAND = sshCommand(remote.identityPath as string, remote.knownHostsPath as string)
    env.GIT_SSH_VARIANT = 'ssh'
  }
  return env
}

/** Characters that need no quoting in the command line git hands to sh. */
const SAFE_PATH = /^\/[A-Za-z0-9_./-]*$/

/**
 * GIT_SSH_COMMAND for one remote: only its identity, only its pinned host key,
 * no agent, no prompts, no user or system ssh config. Paths only; refuses a
 * path that would need shell quoting rather than quote it.
 */
export function sshCommand(identityPath: string, knownHostsPath: string): string {
  for (const path of [identityPath, knownHostsPath]) {
    if (!SAFE_PATH.test(path)) throw new Error(`path ${JSON.stringify(path)} has characters unsafe in GIT_SSH_COMMAND (allowed: A-Z a-z 0-9 _ . / -)`)
  }
  return [
    'ssh',
    '-F', '/dev/null',
    '-i', identityPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'UpdateHostKeys=no',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'ConnectTimeout=20',
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=4',
    '-o', 'LogLevel=ERROR',
  ].join(' ')
}

/** The gate's global git config. No secret: the token reaches git only through the credential helper. */
export function globalGitConfig(paths: GatePaths): string {
  return [
    '# written by bottle-git-gate at start; holds no secret',
    '[safe]',
    '\tdirectory = *',
    '[core]',
    `\thooksPath = ${paths.hooksDir}`,
    '[init]',
    '\tdefaultBranch = main',
    // Only the transports the gate supports; never ext::, file:// or git://.
    '[protocol]',
    '\tallow = never',
    '[protocol "ssh"]',
    '\tallow = always',
    '[protocol "https"]',
    '\tallow = always',
    '[credential]',
    `\thelper = ${paths.credentialHelper}`,
    '[receive]',
    '\tfsckObjects = true',
    '\tdenyCurrentBranch = ignore',
    '[uploadpack]',
    '\tallowFilter = true',
    '[gc]',
    '\tautoDetach = false',
    '[advice]',
    '\tdetachedHead = false',
    '',
  ].join('\n')
}
