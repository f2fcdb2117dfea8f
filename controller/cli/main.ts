import { Command, CommanderError, Option } from 'commander'
import { CliError, EXIT_FAILED, EXIT_USAGE } from './cli-error.js'
import { parseOutputFormat } from './output.js'
import { runGet } from './commands/get.js'
import { editorSchema } from './commands/schema.js'
import { runValidate } from './commands/validate.js'

const DEFAULT_DIR = process.env.BOTTLE_DIR ?? '.'

function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['yaml', 'json', 'wide'])
}

/** Where a command writes; tests pass their own streams. */
export interface CliIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
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
    .option('--dir <dir>', 'the spec folder', DEFAULT_DIR)
    .action(async (kind: string | undefined, name: string | undefined, opts: { output?: string; dir: string }) => {
      setExitCode(await runGet(kind, name, { dir: opts.dir, format: parseOutputFormat(opts.output) }, io.stdout))
    })

  program
    .command('schema')
    .description('print the JSON Schema of the specs for editors (yaml-language-server)')
    .argument('[kind]', 'Bottle | Agent | Proposal (default: one schema for Bottle and Agent documents)')
    .action((kind: string | undefined) => {
      io.stdout.write(JSON.stringify(editorSchema(kind), null, 2) + '\n')
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
