import { constants } from 'node:os'
import { resolve } from 'node:path'
import type { RuntimeDriver } from '../../runtime/driver.js'
import { didYouMean } from '../../spec/did-you-mean.js'
import type { ProviderName } from '../../spec/effective-provider.js'
import { loadSpecTree } from '../../spec/load-spec-tree.js'
import { listedAgentProvider } from '../agent-provider.js'
import { CliError, UsageError } from '../cli-error.js'
import { createLogger, instanceDrivers, type InstanceOptions } from '../instance-context.js'
import { chooseSessionCommand, LIVE_SESSION, liveSessionTmux, type SessionCommand, type SessionRequest } from '../session-command.js'
import { processTerminal, runTerminalSession, terminalSize, type Terminal } from '../terminal-session.js'
import { waitForEntrypoint } from '../wait-for-entrypoint.js'
import { listObjects } from './get.js'

export interface AttachOptions extends InstanceOptions {
  /** The spec folder, where the Agent's provider is read. */
  dir: string
  /** Start a new conversation even when there is one to continue. */
  new?: boolean
}

/** Stand-ins for the user's terminal and the Agent's driver, for tests. */
export interface AttachDependencies {
  terminal?: Terminal
  driver?: RuntimeDriver
}

/**
 * `bottle attach AGENT [--new] [-- CMD...]`: a person at the keyboard of the
 * agent's box. Exits with the session's exit code; 0 after a detach; 128+n
 * after signal n to this process.
 */
export async function runAttach(agent: string, command: string[], options: AttachOptions, err: NodeJS.WritableStream, dependencies: AttachDependencies = {}): Promise<number> {
  const terminal = dependencies.terminal ?? processTerminal()
  if (terminal.input.isTTY !== true) throw new UsageError('attach needs a terminal; use bottle exec for scripts')
  if (options.new && command.length > 0) throw new UsageError('--new starts a new agent conversation; it does not apply to a command after --')
  const request: SessionRequest = command.length > 0 ? { command } : { provider: await providerOf(options.dir, agent), fresh: options.new === true }
  const driver = dependencies.driver ?? (await instanceDrivers(options, createLogger(options.logLevel ?? 'warn')).driverOf(agent))
  await waitForEntrypoint(driver, agent)
  const chosen = await chooseSessionCommand(driver, agent, request)
  const session = await driver.openSession(agent, 'agent', chosen.argv, {
    user: chosen.user,
    workdir: chosen.workdir,
    // The session draws for the user's terminal, so it is told which kind that is, as ssh does.
    env: { TERM: process.env.TERM || 'xterm-256color', ...chosen.env },
    ...terminalSize(terminal.output),
  })
  err.write(`${startNote(agent, chosen)}\n`)
  const end = await runTerminalSession(session, terminal)
  switch (end.reason) {
    case 'exited':
      return end.exitCode
    case 'detached':
      if (chosen.live) {
        // The tmux client in the box outlives the dropped connection; let it go so the session is free.
        await driver.exec(agent, 'agent', liveSessionTmux('detach-client', '-s', LIVE_SESSION.name), { user: chosen.user, env: chosen.env }).catch(() => undefined)
        err.write(`\r\x1b[Jdetached from ${agent}; the session keeps running: bottle attach ${agent} returns to it\n`)
      } else {
        // Docker keeps an exec running after its client leaves; a later attach starts another one.
        err.write(`\r\x1b[Jdetached from ${agent}; the command keeps running in its box\n`)
      }
      return 0
    case 'signalled':
      err.write(`\r\ndisconnected from ${agent} (${end.signal})\n`)
      return 128 + (constants.signals[end.signal] ?? 0)
  }
}

/** The CLI the Agent named `name` runs, read from the spec folder. */
async function providerOf(dir: string, name: string): Promise<ProviderName> {
  const tree = await loadSpecTree(resolve(dir))
  const objects = await listObjects(tree)
  const agent = objects.find((o) => o.kind === 'Agent' && o.name === name)
  if (!agent) {
    const guess = didYouMean(name, objects.filter((o) => o.kind === 'Agent').map((o) => o.name))
    throw new CliError(`agent "${name}" not found in ${dir}${guess ? ` (did you mean "${guess}"?)` : ''}; --dir names the spec folder`)
  }
  return listedAgentProvider(tree, agent)
}

function startNote(agent: string, chosen: SessionCommand): string {
  const what: Record<SessionCommand['mode'], string> = {
    reattach: 'back to the running session (--new starts another conversation)',
    continue: 'continuing the last conversation (--new starts another)',
    new: chosen.endedLive ? 'a new conversation (the running one was ended; its transcript is kept)' : 'a new conversation',
    command: chosen.argv.join(' '),
  }
  return `attached to ${agent}: ${what[chosen.mode]}; ctrl-p ctrl-q detaches`
}
