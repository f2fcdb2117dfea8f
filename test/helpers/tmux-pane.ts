import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'

/**
 * A real pseudo-terminal for tests: one detached tmux session on its own
 * server socket in the temp folder (so a test never touches anyone's tmux), running `command`
 * in a pane of the given size. Keys go in with `type()` and `press()`, the
 * screen comes back with `screen()`.
 */
export class TmuxPane {
  private constructor(
    readonly socket: string,
    readonly target: string,
  ) {}

  static async start(command: string[], options: { columns: number; rows: number; env?: Record<string, string>; cwd?: string }): Promise<TmuxPane> {
    const pane = new TmuxPane(join(tmpdir(), `bottle-tmux-${randomBytes(4).toString('hex')}`), 'test')
    const env = Object.entries(options.env ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`])
    await pane.tmux('new-session', '-d', '-s', pane.target, '-x', String(options.columns), '-y', String(options.rows), ...(options.cwd ? ['-c', options.cwd] : []), ...env, ...command)
    return pane
  }

  async tmux(...args: string[]): Promise<string> {
    return (await execa('tmux', ['-S', this.socket, ...args])).stdout
  }

  /** Types `text` literally, then Enter. */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', this.target, '-l', text)
    await this.tmux('send-keys', '-t', this.target, 'Enter')
  }

  /** Presses keys by tmux name, e.g. `C-p`. */
  async press(...keys: string[]): Promise<void> {
    for (const key of keys) await this.tmux('send-keys', '-t', this.target, key)
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux('resize-window', '-t', this.target, '-x', String(columns), '-y', String(rows))
  }

  /** The pane's text, scrollback included, wrapped lines joined. */
  async screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-J', '-t', this.target, '-S', '-1000')
  }

  /** The name of the process in the pane's foreground (the shell, or what it runs). */
  async foreground(): Promise<string> {
    return this.tmux('display-message', '-p', '-t', this.target, '#{pane_current_command}')
  }

  /** Polls the screen until `pattern` shows; throws with the screen when it never does. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const text = await this.screen()
      if (pattern.test(text)) return text
      if (Date.now() > deadline) throw new Error(`the pane never showed ${pattern}; it shows:\n${text}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  async waitForForeground(command: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last = ''
    while ((last = await this.foreground()) !== command) {
      if (Date.now() > deadline) throw new Error(`the pane's foreground is still ${last}, not ${command}; it shows:\n${await this.screen()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  async dispose(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined)
    await rm(this.socket, { force: true })
  }
}
