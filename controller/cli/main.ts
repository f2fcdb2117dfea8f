import { Command, CommanderError, Option } from 'commander'
import { CliError, EXIT_FAILED, EXIT_USAGE } from './cli-error.js'
import { parseOutputFormat } from './output.js'
import { runApply } from './commands/apply.js'
import { runAttach } from './commands/attach.js'
import { runController } from './commands/controller.js'
import { runDelete } from './commands/delete.js'
import { runDescribe } from './commands/describe.js'
import { runDiff } from './commands/diff.js'
import { runExec } from './commands/exec.js'
import { runGet, runGetWatch } from './commands/get.js'
import { runLogs } from './commands/logs.js'
import { registerProposalCommands } from './commands/proposals.js'
import { editorSchema } from './commands/schema.js'
import { runValidate } from './commands/validate.js'
import { loadDashboard } from './dashboard/load-dashboard.js'
import type { CliIo } from './cli-io.js'

export type { CliIo }

const DEFAULT_DIR = process.env.BOTTLE_DIR ?? '.'

function instanceOption(): Option {
  return new Option('--instance <name>', 'controller instance (objects of other instances are never touched)').default(process.env.BOTTLE_INSTANCE ?? 'default')
}

/** Where the controller keeps its per-Agent state (the vm runtime's boxes among it). */
function stateDirOption(): Option {
  return new Option('--state-dir <dir>', 'the controller state folder (as given to bottle controller)')
}

function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['yaml', 'json', 'wide'])
}

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('bottle')
    .description('GitOps controller for sandboxed AI coding agents')
    .option('--debug', 'print stack traces with errors')
    .showHelpAfterError('(run bottle --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })

  program
    .command('validate')
    .description('check specs: every error with file:line:col (exit 0 valid, 1 invalid, 2 usage)')
    .requiredOption('-f, --filename <path>', 'a spec file or a folder of specs')
    .option('--dir <dir>', 'check a file against the specs of this folder')
    .action(async (opts: { filename: string; dir?: string }) => {
      setExitCode(await runValidate({ file: opts.filename, ...(opts.dir ? { dir: opts.dir } : {}) }, io.stdout, io.stderr))
    })

  program
    .command('get')
    .description('list bottles, agents or proposals with their status')
    .argument('[kind]', 'bottles | agents | proposals (default: bottles and agents)')
    .argument('[name]', 'one object')
    .addOption(outputOption())
    .option('-w, --watch', 'after the list, print a row whenever one changes')
    .option('--dir <dir>', 'the spec folder', DEFAULT_DIR)
    .action(async (kind: string | undefined, name: string | undefined, opts: { output?: string; dir: string; watch?: boolean }) => {
      const format = parseOutputFormat(opts.output)
      setExitCode(opts.watch ? await runGetWatch(kind, name, { dir: opts.dir, format }, io.stdout) : await runGet(kind, name, { dir: opts.dir, format }, io.stdout))
    })

  program
    .command('describe')
    .description('show everything known about one object: spec, conditions, runtime, routes, events')
    .argument('<kind>', 'bottle | agent | proposal')
    .argument('<name>')
    .option('--dir <dir>', 'the spec folder', DEFAULT_DIR)
    .action(async (kind: string, name: string, opts: { dir: string }) => {
      setExitCode(await runDescribe(kind, name, opts, io.stdout))
    })

  program
    .command('apply')
    .description('validate specs, then write them into the watched folder (--wait: until Ready)')
    .requiredOption('-f, --filename <path>', 'a spec file or a folder of specs')
    .option('--dir <dir>', 'the folder the controller watches', DEFAULT_DIR)
    .option('--wait', 'follow the status until every applied Agent is Ready, or fail')
    .option('--timeout <duration>', 'how long --wait waits', '5m')
    .action(async (opts: { filename: string; dir: string; wait?: boolean; timeout: string }) => {
      setExitCode(await runApply({ file: opts.filename, dir: opts.dir, timeout: opts.timeout, ...(opts.wait ? { wait: true } : {}) }, io.stdout, io.stderr))
    })

  program
    .command('diff')
    .description('print what applying specs would change, classed hot | sidecars | recreate (exit 1 when something would)')
    .requiredOption('-f, --filename <path>', 'a spec file or a folder of specs')
    .option('--dir <dir>', 'the folder the controller watches', DEFAULT_DIR)
    .addOption(instanceOption())
    .option('--state-dir <dir>', 'the controller state folder')
    .action(async (opts: { filename: string; dir: string; instance: string; stateDir?: string }) => {
      setExitCode(await runDiff({ file: opts.filename, dir: opts.dir, instance: opts.instance, ...(opts.stateDir ? { stateDir: opts.stateDir } : {}) }, io.stdout, io.stderr))
    })

  program
    .command('delete')
    .description('remove an object from the spec folder; the controller prunes what ran (--purge: the workspace too)')
    .argument('<kind-or-name>', 'agent (default) | bottle, or the name of an agent')
    .argument('[name]')
    .option('--dir <dir>', 'the spec folder', DEFAULT_DIR)
    .option('--purge', "also delete the agent's workspace volume")
    .option('--timeout <duration>', 'how long --purge waits for the controller to prune', '60s')
    .addOption(instanceOption())
    .option('--state-dir <dir>', 'the controller state folder')
    .action(async (a: string, b: string | undefined, opts: { dir: string; purge?: boolean; timeout: string; instance: string; stateDir?: string }) => {
      const [kind, name] = b === undefined ? [undefined, a] : [a, b]
      setExitCode(await runDelete(kind, name, { dir: opts.dir, timeout: opts.timeout, instance: opts.instance, ...(opts.purge ? { purge: true } : {}), ...(opts.stateDir ? { stateDir: opts.stateDir } : {}) }, io.stdout, io.stderr))
    })

  program
    .command('logs')
    .description("print an agent's output, or its bundle's (--sidecar egress|git-gate|supervise|init|all)")
    .argument('<agent>')
    .option('--sidecar <name>', 'a daemon of the sidecar bundle')
    .option('-f, --follow', 'keep printing new lines')
    .option('--tail <lines>', 'only the last lines')
    .addOption(instanceOption())
    .addOption(stateDirOption())
    .action(async (agent: string, opts: { sidecar?: string; follow?: boolean; tail?: string; instance: string; stateDir?: string }) => {
      setExitCode(await runLogs(agent, opts, io.stdout))
    })

  program
    .command('exec')
    .description("run a command in an agent's box (as the agent user, in its workspace); the exit code passes through")
    .argument('<agent>')
    .argument('<command...>', 'after --')
    .option('--sidecars', 'run in the sidecar bundle instead')
    .option('-u, --user <user>', 'run as this user')
    .option('-w, --workdir <dir>', 'run in this folder')
    .option('-i, --stdin', "pass this command's standard input")
    .addOption(instanceOption())
    .addOption(stateDirOption())
    .action(async (agent: string, command: string[], opts: { sidecars?: boolean; user?: string; workdir?: string; stdin?: boolean; instance: string; stateDir?: string }) => {
      setExitCode(await runExec(agent, command, opts, io.stdout, io.stderr))
    })

  program
    .command('attach')
    .description("an interactive terminal in an agent's box: its CLI, continuing the last conversation (ctrl-p ctrl-q detaches)")
    .argument('<agent>')
    .argument('[command...]', 'after --: run this instead, e.g. bash')
    .option('--new', 'start a new conversation even when there is one to continue')
    .option('--dir <dir>', "the spec folder (where the Agent's provider is read)", DEFAULT_DIR)
    .addOption(instanceOption())
    .addOption(stateDirOption())
    .action(async (agent: string, command: string[], opts: { new?: boolean; dir: string; instance: string; stateDir?: string }) => {
      setExitCode(await runAttach(agent, command, opts, io.stderr))
    })

  program
    .command('controller')
    .description('run the controller: keep every Agent of the specs running as specified')
    .option('--dir <dir>', 'watch this folder of specs', process.env.BOTTLE_DIR)
    .option('--source <url>', 'or clone and poll a git repository: git+ssh://host/repo.git#branch[:folder], https://..., /path/to/repo')
    .option('--interval <duration>', 'how often a git source is fetched', '30s')
    .addOption(instanceOption())
    .option('--state-dir <dir>', 'where per-agent CAs, configs and tokens live (default ~/.local/state/bottle)')
    .option('--concurrency <n>', 'agents reconciled at once', '4')
    .option('--resync <duration>', 'reconcile every agent at least this often', '30s')
    .option('--listen <host:port>', 'loopback address for /healthz, /readyz and /metrics', '127.0.0.1:9464')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .option('--once', 'reconcile everything once, then exit')
    .option('--upstream-ca <file...>', 'extra CA certificates (PEM) the egress proxies trust for origins, e.g. a TLS-inspecting corporate proxy')
    .option('--notify <url...>', 'post every new proposal (an agent\'s or a draft from refusals) as JSON to this webhook')
    .action(async (opts: { dir?: string; source?: string; interval: string; instance: string; stateDir?: string; concurrency: string; resync: string; listen: string; logLevel: string; once?: boolean; upstreamCa?: string[]; notify?: string[] }) => {
      setExitCode(await runController(opts))
    })

  program
    .command('schema')
    .description('print the JSON Schema of the specs for editors (yaml-language-server)')
    .argument('[kind]', 'Bottle | Agent | Proposal (default: one schema for Bottle and Agent documents)')
    .action((kind: string | undefined) => {
      io.stdout.write(JSON.stringify(editorSchema(kind), null, 2) + '\n')
    })

  registerProposalCommands(program, io, setExitCode)

  program
    .command('dashboard')
    .description('a full-screen view: agents, their live egress and git decisions, pending proposals (a approve, r reject, enter attach, ? help)')
    .option('--dir <dir>', 'the spec folder', DEFAULT_DIR)
    .addOption(instanceOption())
    .option('--state-dir <dir>', 'the controller state folder')
    .action(async (opts: { dir: string; instance: string; stateDir?: string }) => {
      setExitCode(await (await loadDashboard())(opts, io.stderr))
    })

  return program
}

/** Runs one command line; returns the exit code instead of exiting, so it can be tested in-process. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let exitCode = 0
  const program = buildProgram(io, (code) => {
    exitCode = code
  })
  const debug = argv.includes('--debug')
  try {
    await program.parseAsync(argv)
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are exits too; commander already printed them.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      return EXIT_USAGE
    }
    const exitCode = err instanceof CliError ? err.exitCode : EXIT_FAILED
    const message = err instanceof Error ? err.message : String(err)
    io.stderr.write(`error: ${message}\n`)
    if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`)
    return exitCode
  }
}
