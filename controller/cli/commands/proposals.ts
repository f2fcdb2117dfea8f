/**
 * `bottle approve ID` and `bottle reject ID --reason TEXT`: a human's
 * decision on a Proposal. Both are pure edits of files in the spec folder;
 * a running controller picks them up (an approved route goes live by the
 * hot path, with no restart). `approve` prints the unified diff of the
 * Bottle file, which is the change to commit.
 */
import type { Command } from 'commander'
import { approveProposal, ProposalDecisionError, rejectProposal } from '../../proposals/decide-proposal.js'
import { CliError, EXIT_OK } from '../cli-error.js'
import type { CliIo } from '../cli-io.js'

const DEFAULT_DIR = process.env.BOTTLE_DIR ?? '.'

export interface ApproveCommandOptions {
  dir: string
  upstream?: string
}

export async function runApprove(id: string, options: ApproveCommandOptions, out: NodeJS.WritableStream): Promise<number> {
  const result = await decide(() => approveProposal({ dir: options.dir, id, ...(options.upstream !== undefined ? { upstream: options.upstream } : {}) }))
  out.write(result.diff)
  out.write(`proposal/${id} approved: route ${result.route.host} added to Bottle ${result.bottle} (${result.bottleFile}); a running controller applies it without restarting the agent\n`)
  return EXIT_OK
}

export async function runReject(id: string, options: { dir: string; reason: string }, out: NodeJS.WritableStream): Promise<number> {
  const result = await decide(() => rejectProposal({ dir: options.dir, id, reason: options.reason }))
  out.write(`proposal/${id} rejected (${result.proposalFile})\n`)
  return EXIT_OK
}

/** A refused decision is one line and exit 1; anything else propagates to main's handler. */
async function decide<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof ProposalDecisionError) throw new CliError(error.message, undefined, { cause: error })
    throw error
  }
}

/** Adds `approve` and `reject` to the program (the one call main.ts makes). */
export function registerProposalCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('approve')
    .description("approve an agent's proposal: add its route to the Bottle spec (prints the diff to commit)")
    .argument('<proposal>', 'the proposal name, e.g. impl-3 (bottle get proposals)')
    .option('--dir <dir>', 'the spec folder', DEFAULT_DIR)
    .option('--upstream <url>', 'dial this origin (https://host[:port]) for the new route instead of its host')
    .action(async (id: string, opts: { dir: string; upstream?: string }) => {
      setExitCode(await runApprove(id, opts, io.stdout))
    })

  program
    .command('reject')
    .description("reject an agent's proposal; the agent reads the reason")
    .argument('<proposal>', 'the proposal name, e.g. impl-3 (bottle get proposals)')
    .requiredOption('--reason <text>', 'why; the agent sees it through proposal-status')
    .option('--dir <dir>', 'the spec folder', DEFAULT_DIR)
    .action(async (id: string, opts: { dir: string; reason: string }) => {
      setExitCode(await runReject(id, opts, io.stdout))
    })
}
