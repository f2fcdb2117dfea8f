/**
 * `bottle dashboard`: every agent, its live decisions and the pending
 * proposals on one screen, with one key to approve, reject, describe or
 * attach. This module wires the pieces and carries out the effects keys ask
 * for; what is shown and what a key means are in dashboard-model.ts, the
 * painting in dashboard-view.ts, the data in dashboard-data.ts and the
 * terminal's safety in full-screen.ts.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { render, type Instance } from 'ink'
import pino from 'pino'
import { createElement as h } from 'react'
import { approveProposal, ProposalDecisionError, rejectProposal } from '../../proposals/decide-proposal.js'
import { bundleLogsOf } from '../../reconcile/bundle-log-follower.js'
import type { DriverRegistry } from '../../runtime/driver-registry.js'
import { UsageError } from '../cli-error.js'
import { runAttach } from '../commands/attach.js'
import { runDescribe } from '../commands/describe.js'
import { instanceDrivers, type InstanceOptions } from '../instance-context.js'
import { terminalSize } from '../terminal-session.js'
import { DashboardData } from './dashboard-data.js'
import { initialModel, reduceKey, screenLines, type Effect, type Key, type Model } from './dashboard-model.js'
import { DashboardView } from './dashboard-view.js'
import { withFullScreen, type FullScreen } from './full-screen.js'

export interface DashboardOptions extends InstanceOptions {
  dir: string
}

export async function runDashboard(options: DashboardOptions, err: NodeJS.WritableStream): Promise<number> {
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) throw new UsageError('dashboard needs a terminal; use bottle get -w or bottle logs -f in scripts')
  // Nothing may write to the terminal behind ink's back: the driver's log lines go nowhere.
  const log = pino({ level: 'silent' })
  const drivers = instanceDrivers(options, log)
  const crashLog = join(tmpdir(), `bottle-dashboard-${process.pid}.log`)
  await withFullScreen({ input: process.stdin, output: process.stdout, crashLog, err }, (screen) => new Dashboard(options, screen, drivers, log, err).run())
  return 0
}

class Dashboard {
  #model: Model
  #ink: Instance | undefined
  #quit!: () => void
  #fail!: (error: unknown) => void
  readonly #data: DashboardData

  constructor(
    private readonly options: DashboardOptions,
    private readonly screen: FullScreen,
    drivers: DriverRegistry,
    log: pino.Logger,
    private readonly err: NodeJS.WritableStream,
  ) {
    this.#model = initialModel(options.dir)
    this.#data = new DashboardData({ dir: options.dir, bundleLogs: bundleLogsOf(drivers), log, onChange: () => this.#refresh() })
  }

  async run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.#quit = resolve
      this.#fail = reject
    })
    const onResize = () => this.#draw()
    process.stdout.on('resize', onResize)
    try {
      await this.#data.start()
      this.#refresh()
      this.#mount()
      await done
    } finally {
      process.stdout.off('resize', onResize)
      this.#ink?.unmount()
      this.#ink = undefined
      this.#data.stop()
    }
  }

  #mount(): void {
    this.#ink = render(this.#view(), { exitOnCtrlC: false, patchConsole: false })
    // A render error ends ink's app: that is a crash, and full-screen.ts restores the terminal.
    const ink = this.#ink
    ink.waitUntilExit().catch((error: unknown) => {
      if (this.#ink === ink) this.#fail(error)
    })
  }

  #view() {
    const { columns, rows } = terminalSize(process.stdout)
    // One row short of the screen: ink redraws in place only while its output is shorter than the terminal.
    return h(DashboardView, { lines: screenLines(this.#model, { columns, rows: rows - 1 }), onKey: (key: Key) => this.#onKey(key) })
  }

  #draw(): void {
    this.#ink?.rerender(this.#view())
  }

  #refresh(): void {
    const data = this.#data
    this.#model = { ...this.#model, agents: data.agents, proposals: data.proposals, feeds: new Map(data.feeds) }
    if (data.error) this.#model = { ...this.#model, message: { text: `cannot read ${this.options.dir}: ${data.error}`, tone: 'error' } }
    this.#draw()
  }

  #onKey(key: Key): void {
    const { model, effect } = reduceKey(this.#model, key)
    this.#model = model
    this.#draw()
    if (effect) {
      this.#perform(effect).catch((error: unknown) => this.#fail(error))
    }
  }

  async #perform(effect: Effect): Promise<void> {
    const { dir } = this.options
    switch (effect.kind) {
      case 'quit':
        this.#quit()
        return
      case 'approve':
        await this.#decide(async () => {
          const result = await approveProposal({ dir, id: effect.proposal })
          const title = `approved ${effect.proposal}: ${result.route.host} added to Bottle ${result.bottle} (${result.bottleFile})`
          const lines = [...result.diff.replace(/\n$/, '').split('\n'), '', 'A running controller applies it without restarting the agent. Commit the Bottle file to keep it.']
          this.#model = { ...this.#model, overlay: { kind: 'text', title, lines, scroll: 0 }, message: { text: title, tone: 'info' } }
        })
        return
      case 'reject':
        await this.#decide(async () => {
          const result = await rejectProposal({ dir, id: effect.proposal, reason: effect.reason })
          this.#model = { ...this.#model, message: { text: `rejected ${effect.proposal} (${result.proposalFile}); the agent reads the reason`, tone: 'info' } }
        })
        return
      case 'describe': {
        let text = ''
        const sink = new Writable({ write: (chunk: Buffer, _e, next) => ((text += chunk.toString()), next()) })
        try {
          await runDescribe(effect.what, effect.name, { dir }, sink)
          this.#model = { ...this.#model, overlay: { kind: 'text', title: `${effect.what} ${effect.name}`, lines: text.replace(/\n$/, '').split('\n'), scroll: 0 } }
        } catch (error) {
          this.#model = { ...this.#model, message: { text: oneLine(error), tone: 'error' } }
        }
        this.#draw()
        return
      }
      case 'attach':
        await this.#attach(effect.agent)
        return
    }
  }

  /** Runs an approve or reject; a refusal is a message on the screen, the folder is read again either way. */
  async #decide(run: () => Promise<void>): Promise<void> {
    try {
      await run()
    } catch (error) {
      // A refusal says what to do; anything else (a file that cannot be written) is shown the same way, not a crash.
      this.#model = { ...this.#model, message: { text: error instanceof ProposalDecisionError ? error.message : `failed: ${oneLine(error)}`, tone: 'error' } }
    }
    this.#model = { ...this.#model, busy: undefined }
    await this.#data.reload()
    this.#draw()
  }

  /** The agent's CLI on this terminal; ctrl-p ctrl-q (or the CLI ending) comes back to the dashboard. */
  async #attach(agent: string): Promise<void> {
    this.#ink?.unmount()
    this.#ink = undefined
    let problem: string | undefined
    await this.screen.suspend(async () => {
      try {
        const code = await runAttach(agent, [], { dir: this.options.dir, instance: this.options.instance, ...(this.options.stateDir ? { stateDir: this.options.stateDir } : {}) }, this.err)
        // A CLI that ends at once (not logged in, a crash) would otherwise look like nothing happened.
        if (code !== 0) problem = `attach ${agent}: the session ended with exit code ${code}`
      } catch (error) {
        problem = `attach ${agent}: ${oneLine(error)}`
      }
    })
    if (problem) this.#model = { ...this.#model, message: { text: problem, tone: 'error' } }
    // The session paused stdin on its way out, which stops the terminal's reads; ink only listens for
    // 'readable' and would never start them again, leaving the dashboard deaf to every key.
    process.stdin.resume()
    this.#mount()
  }
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ')
}
