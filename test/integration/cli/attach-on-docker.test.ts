import { join } from 'node:path'
import Dockerode from 'dockerode'
import { execa } from 'execa'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../../controller/package-root.js'
import { ControllerProcess, isReady, removeInstance, uniqueInstance } from '../../helpers/controller-process.js'
import { runCli } from '../../helpers/run-cli.js'
import { TempFolder } from '../../helpers/temp-folder.js'
import { TmuxPane } from '../../helpers/tmux-pane.js'

// `bottle attach` as a person uses it: the built executable (npm run build
// first, as scripts/test does) typed into a shell on a real pseudo-terminal
// (tmux), against an agent box on the real engine.

const docker = new Dockerode()
const instance = uniqueInstance('attach')
const root = packageRoot()

const BOTTLE = 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: registry.npmjs.org\n'
const AGENT = 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec:\n  bottle: dev\n'

/** Bash without rc files, so prompts are known: `outer$ ` outside, `bash-5.x$ ` in the box. */
const BASH = ['bash', '--norc', '--noprofile']
const INNER_PROMPT = /^bash-[\d.]+\$ $/m
/** Printed by the outer shell straight after bottle exits: its exit code and the terminal's line discipline. */
const AFTERWARDS = `echo "bottle-exit=$?"; echo "tty: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' ')"`
const RESTORED = /^tty: icanon echo $/m

describe('bottle attach on a real terminal', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess
  let pane: TmuxPane | undefined

  beforeAll(async () => {
    specs = await TempFolder.create('bottle-attach-specs-')
    state = await TempFolder.create('bottle-attach-state-')
    await specs.write('bottles/dev.yaml', BOTTLE)
    await specs.write('agents/impl.yaml', AGENT)
    controller = new ControllerProcess(specs, state, instance)
    controller.start()
    await controller.waitForStatus('agents/impl.yaml', 'impl', isReady)
  })

  afterEach(async () => {
    await pane?.dispose()
    pane = undefined
  })

  afterAll(async () => {
    await controller?.stop()
    await removeInstance(docker, instance)
    await specs?.dispose()
    await state?.dispose()
  })

  /** A 100x30 pane whose shell has run `bottle attach impl -- bash` and shows the box's prompt. */
  async function attachedPane(): Promise<TmuxPane> {
    pane = await TmuxPane.start(BASH, { columns: 100, rows: 30, cwd: root, env: { PS1: 'outer$ ', TERM: 'tmux-256color' } })
    await pane.waitFor(/^outer\$ $/m)
    await pane.type(`node ${join(root, 'bin/bottle.js')} attach impl --dir ${specs.path} --instance ${instance} -- ${BASH.join(' ')}; ${AFTERWARDS}`)
    await pane.waitFor(/attached to impl: bash --norc --noprofile; ctrl-p ctrl-q detaches/)
    await pane.waitFor(INNER_PROMPT)
    return pane
  }

  it('types, shows output, follows a resize and detaches on ctrl-p ctrl-q, leaving the terminal as it was', async () => {
    const pane = await attachedPane()
    await pane.type('echo marker-$((6*7)) $(id -un) $PWD')
    await pane.waitFor(/^marker-42 agent \/home\/agent\/workspace$/m)

    // Raw mode: ctrl-c reaches the command in the box instead of ending the client.
    await pane.type('sleep 60')
    await pane.press('C-c')
    await pane.type('echo still-attached-$((1+1))')
    await pane.waitFor(/^still-attached-2$/m)

    await pane.type('stty size')
    await pane.waitFor(/^30 100$/m)
    await pane.resize(120, 40)
    await pane.type('stty size')
    await pane.waitFor(/^40 120$/m)

    await pane.press('C-p', 'C-q')
    await pane.waitFor(/^detached from impl\b/m)
    await pane.waitFor(/^bottle-exit=0$/m)
    await pane.waitFor(RESTORED)
    await pane.waitForForeground('bash')
    await pane.type('echo outer-$((5*5))')
    await pane.waitFor(/^outer-25$/m)

    // As the note says: the engine keeps a detached session running.
    const listing = await runCli(['exec', 'impl', '--instance', instance, '--', 'sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done'])
    expect(listing.stdout).toMatch(/^bash --norc --noprofile $/m)
  })

  it("exits with the session's exit code when the command ends by itself", async () => {
    const pane = await attachedPane()
    await pane.type('exit 3')
    await pane.waitFor(/^bottle-exit=3$/m)
    await pane.waitFor(RESTORED)
    await pane.waitForForeground('bash')
  })

  it('restores the terminal and exits 143 on SIGTERM to the client', async () => {
    const pane = await attachedPane()
    const shell = await pane.tmux('display-message', '-p', '-t', pane.target, '#{pane_pid}')
    const client = (await execa('pgrep', ['-P', shell, '-x', 'node'])).stdout.trim()
    expect(client).toMatch(/^\d+$/)
    process.kill(Number(client), 'SIGTERM')
    await pane.waitFor(/^disconnected from impl \(SIGTERM\)$/m)
    await pane.waitFor(/^bottle-exit=143$/m)
    await pane.waitFor(RESTORED)
  })
})
