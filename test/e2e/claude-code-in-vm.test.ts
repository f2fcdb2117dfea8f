/**
 * Claude Code in a micro-VM, as a person uses it: `bottle apply -f --wait`
 * to Running, `bottle exec` with its exit codes, `claude -p` answered through
 * egress with the real token while the guest holds only the placeholder,
 * `bottle attach` on a real pseudo-terminal (tmux), and a task Agent run to
 * Succeeded. Then the fault a controller must survive: killed with kill -9
 * while it is creating a VM, a new controller adopts what the first left,
 * and one Agent never has two VMs.
 *
 * Every box here runs under TCG on this kind of host, so the guest does as
 * little as possible and timeouts are generous.
 */
import { execa } from 'execa'
import { readFileSync } from 'node:fs'
import { readdir, readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../controller/package-root.js'
import { PROVIDER_PLACEHOLDER } from '../../controller/plan/providers.js'
import { runtimeOwner } from '../../controller/runtime/docker/names.js'
import type { ObjectStatus } from '../../controller/status/status-types.js'
import { dockerHostAddress } from '../../scripts/lib/docker-host-address.js'
import { createLeafCertificates, mintCertificateAuthority } from '../../sidecars/egress/certificates.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../helpers/controller-process.js'
import { startFakeAnthropicOrigin, type FakeProviderOrigin } from '../helpers/fake-provider-origins.js'
import { runCli } from '../helpers/run-cli.js'
import { TempFolder } from '../helpers/temp-folder.js'
import { TmuxPane } from '../helpers/tmux-pane.js'

const docker = new Dockerode()
const instance = uniqueInstance('cvm')
const root = packageRoot()
const stamp = Date.now().toString(36)
// Shaped like no credential the DLP knows, so only the exact-match checks see it.
const CLAUDE_TOKEN = `claude-canary-${stamp}-5e0a7b`
const CLAUDE_ANSWER = `hello from the fake anthropic in a vm ${stamp}`

const BASH = ['bash', '--norc', '--noprofile']
const INNER_PROMPT = /^bash-[\d.]+\$ $/m
const AFTERWARDS = `echo "bottle-exit=$?"; echo "tty: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' ')"`
const RESTORED = /^tty: icanon echo $/m

const finished = (s: ObjectStatus) => s.phase === 'Succeeded' || s.phase === 'Failed'
const agentSpec = (name: string, extra = '') =>
  `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  bottle: dev\n  provider: claude\n  auth: {tokenRef: {env: CLAUDE_TOKEN}}\n${extra}`

/**
 * The VMs of `agent` in this test's state: the QEMU processes that serve a
 * QMP socket at its folder's path. Counted by socket, not by command line: a
 * QEMU that daemonizes has a first process with the same command line and
 * no socket, which is not a second VM.
 */
async function qemuPidsOf(stateDir: string, agent: string): Promise<number[]> {
  const qmp = join(stateDir, instance, 'vm', agent, 'q', 'qmp.sock')
  const table = await readFile('/proc/net/unix', 'utf8')
  // Columns: Num RefCount Protocol Flags Type St Inode Path; accepted connections carry the listener's path too.
  const inodes = new Set(table.split('\n').map((line) => line.trim().split(/\s+/)).filter((cols) => cols[7] === qmp).map((cols) => cols[6]))
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (!argv.startsWith('qemu-system') && !argv.includes('/qemu-system')) continue
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[])
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '')
      if (inodes.has(target.replace(/^socket:\[(\d+)\]$/, '$1'))) {
        pids.push(Number(entry))
        break
      }
    }
  }
  return pids
}

describe('Claude Code in a micro-VM', () => {
  let specs: TempFolder
  let state: TempFolder
  let drafts: TempFolder
  let controller: ControllerProcess
  let anthropic: FakeProviderOrigin
  let pane: TmuxPane | undefined
  const cli = (args: string[]) => runCli([...args, '--instance', instance, '--state-dir', state.path])
  const exec = (agent: string, argv: string[]) => runCli(['exec', agent, '--instance', instance, '--state-dir', state.path, '--', ...argv])

  beforeAll(async () => {
    const host = await dockerHostAddress()
    specs = await TempFolder.create('bottle-cvm-specs-')
    state = await TempFolder.create('bottle-cvm-state-')
    drafts = await TempFolder.create('bottle-cvm-apply-')
    // Egress injects a credential only over https: the origin gets a certificate from a CA the controller is told to trust.
    const ca = mintCertificateAuthority({ commonName: 'bottle test provider origin CA' })
    const caFile = await state.write('origin-ca.crt', ca.certPem)
    const leaves = createLeafCertificates({ ca })
    anthropic = await startFakeAnthropicOrigin({ answer: CLAUDE_ANSWER, tls: { certPem: leaves.certificateFor(host).certPem, keyPem: leaves.keyPem } })
    await specs.write(
      'bottles/dev.yaml',
      `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  runtime: vm
  egress:
    routes:
      - host: api.anthropic.com
        upstream: https://${host}:${anthropic.port}
        scan: {body: false}
    allowPrivate: ["${host}/32"]
`,
    )
    controller = new ControllerProcess(specs, state, instance, { CLAUDE_TOKEN }, ['--upstream-ca', caFile])
    controller.start()
  }, 120_000)

  afterEach(async () => {
    await pane?.dispose()
    pane = undefined
  })

  afterAll(async () => {
    await pane?.dispose()
    await controller?.stop()
    // The controller leaves boxes running when it stops; what a delete does, done directly.
    for (const agent of ['claude-vm', 'job-vm', 'late-vm']) for (const pid of state ? await qemuPidsOf(state.path, agent) : []) process.kill(pid, 'SIGKILL')
    await anthropic?.close()
    await removeInstance(docker, runtimeOwner(instance, 'vm'))
    await specs?.dispose()
    await state?.dispose()
    await drafts?.dispose()
  })

  it('apply -f --wait brings a Claude Code Agent to Running in a VM', async () => {
    const file = await drafts.write('claude-vm.md', `---\n${agentSpec('claude-vm')}---\nYou are a careful reviewer.\n`)
    const applied = await runCli(['apply', '-f', file, '--dir', specs.path, '--wait', '--timeout', '15m'])
    expect(applied.stderr).not.toContain(CLAUDE_TOKEN)
    expect(applied.code, applied.stdout + applied.stderr).toBe(0)
    const status = await controller.status('claude-vm.md', 'claude-vm')
    expect(status?.phase).toBe('Running')
    expect(status?.runtime?.driver).toBe('vm')
    expect(status?.runtime?.agent?.isolation).toMatch(/^micro-VM, (KVM|TCG emulation)/)
    expect(await qemuPidsOf(state.path, 'claude-vm')).toHaveLength(1)
  }, 960_000)

  it('bottle exec passes exit codes and output both ways', async () => {
    const ok = await exec('claude-vm', ['sh', '-c', 'echo in-the-vm; echo to-stderr >&2'])
    expect(ok).toMatchObject({ code: 0, stdout: 'in-the-vm\n', stderr: 'to-stderr\n' })
    expect((await exec('claude-vm', ['sh', '-c', 'exit 7'])).code).toBe(7)
    // A command the guest cannot find is 127, as a shell says.
    expect((await exec('claude-vm', ['no-such-command-here'])).code).toBe(127)
  }, 120_000)

  it('claude -p answers through egress: the origin saw the real token, the guest holds only the placeholder', async () => {
    const result = await exec('claude-vm', ['claude', '-p', 'say hi'])
    expect(result.stdout + result.stderr).toContain(CLAUDE_ANSWER)
    expect(result.code).toBe(0)
    const calls = anthropic.requests.filter((r) => r.path.startsWith('/v1/messages'))
    expect(calls.length).toBeGreaterThan(0)
    for (const call of calls) expect(call.authorization).toBe(`Bearer ${CLAUDE_TOKEN}`)
    expect(anthropic.requests.some((r) => JSON.stringify(r.headers).includes(PROVIDER_PLACEHOLDER))).toBe(false)
    // Nowhere in the guest: not in its environment, not in a file it can read.
    const search = await exec('claude-vm', ['sh', '-c', `env | grep -cF '${CLAUDE_TOKEN}'; grep -rlsF '${CLAUDE_TOKEN}' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; echo searched`])
    expect(search.stdout).toBe('0\nsearched\n')
    expect((await exec('claude-vm', ['sh', '-c', 'echo "$CLAUDE_CODE_OAUTH_TOKEN"'])).stdout.trim()).toBe(PROVIDER_PLACEHOLDER)
  }, 300_000)

  it('bottle attach on a real terminal: types, follows a resize, detaches and leaves the terminal as it was', async () => {
    pane = await TmuxPane.start(BASH, { columns: 100, rows: 30, cwd: root, env: { PS1: 'outer$ ', TERM: 'tmux-256color' } })
    await pane.waitFor(/^outer\$ $/m)
    await pane.type(`node ${join(root, 'bin/bottle.js')} attach claude-vm --dir ${specs.path} --instance ${instance} --state-dir ${state.path} -- ${BASH.join(' ')}; ${AFTERWARDS}`)
    await pane.waitFor(/attached to claude-vm: bash --norc --noprofile; ctrl-p ctrl-q detaches/, 60_000)
    await pane.waitFor(INNER_PROMPT, 60_000)
    await pane.type('echo marker-$((6*7)) $(id -un) $PWD')
    await pane.waitFor(/^marker-42 agent \/home\/agent\/workspace$/m, 30_000)
    await pane.type('stty size')
    await pane.waitFor(/^30 100$/m, 30_000)
    await pane.resize(120, 40)
    await pane.type('stty size')
    await pane.waitFor(/^40 120$/m, 30_000)
    await pane.press('C-p', 'C-q')
    await pane.waitFor(/^detached from claude-vm\b/m, 30_000)
    await pane.waitFor(/^bottle-exit=0$/m)
    await pane.waitFor(RESTORED)
    await pane.waitForForeground('bash')
  }, 240_000)

  it('a task Agent runs headless to Succeeded in a VM, with its output in bottle logs', async () => {
    await specs.write('agents/job-vm.yaml', agentSpec('job-vm', '  task: {prompt: "say hi", timeout: 10m}\n'))
    const status = await controller.waitForStatus('agents/job-vm.yaml', 'job-vm', finished, 900_000)
    expect(status.phase, JSON.stringify(status.conditions)).toBe('Succeeded')
    expect(status.task).toMatchObject({ state: 'Succeeded', attempts: 1, exitCode: 0 })
    expect(status.runtime?.driver).toBe('vm')
    const logs = await cli(['logs', 'job-vm'])
    expect(logs.stdout).toContain(CLAUDE_ANSWER)
  }, 960_000)

  it('a controller killed with kill -9 while it creates a VM is replaced by one that adopts it: never two VMs for one Agent', async () => {
    const [claudeBefore] = await qemuPidsOf(state.path, 'claude-vm')
    expect(claudeBefore).toBeGreaterThan(0)
    await specs.write('agents/late-vm.yaml', agentSpec('late-vm'))
    // Mid-reconcile: QEMU has been started for the Agent, and it is not Ready yet.
    const pidFile = join(state.path, instance, 'vm', 'late-vm', 'q', 'qemu.pid')
    const deadline = Date.now() + 600_000
    while ((await qemuPidsOf(state.path, 'late-vm')).length === 0) {
      if (Date.now() > deadline) throw new Error(`no QEMU for late-vm in 600 s:\n${controller.output.slice(-3000)}`)
      await sleep(50)
    }
    const midway = await controller.status('agents/late-vm.yaml', 'late-vm')
    expect(midway === undefined || !isReady(midway)).toBe(true)
    await controller.kill9()
    process.stdout.write(`claude-code-in-vm: controller killed while late-vm booted (status then: ${midway?.phase ?? 'none'})\n`)
    const orphan = await qemuPidsOf(state.path, 'late-vm')
    expect(orphan).toHaveLength(1)

    controller.start()
    process.stdout.write('claude-code-in-vm: a new controller started\n')
    // Watch the whole way to Ready: at no point two QEMUs for the Agent.
    let most = 0
    let ready: ObjectStatus | undefined
    while (!ready) {
      most = Math.max(most, (await qemuPidsOf(state.path, 'late-vm')).length)
      const status = await controller.status('agents/late-vm.yaml', 'late-vm')
      if (status && isReady(status)) ready = status
      else if (Date.now() > deadline + 300_000) throw new Error(`late-vm never Ready after the restart:\n${controller.output.slice(-3000)}`)
      else await sleep(100)
    }
    expect(most).toBe(1)
    const running = await qemuPidsOf(state.path, 'late-vm')
    expect(running).toHaveLength(1)
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(running[0])
    // The Agents that were already running were adopted, not restarted.
    expect(await qemuPidsOf(state.path, 'claude-vm')).toEqual([claudeBefore])
    expect((await exec('late-vm', ['sh', '-c', 'echo adopted'])).stdout).toBe('adopted\n')
  }, 1_200_000)

  it('leaves the token out of every status file and the controller log', async () => {
    for (const file of ['claude-vm.md', 'agents/job-vm.yaml', 'agents/late-vm.yaml']) {
      const status = await readFile(join(specs.path, file.replace(/\.(md|yaml)$/, '.status.yaml')), 'utf8').catch(() => '')
      expect(status.length).toBeGreaterThan(0)
      expect(status).not.toContain(CLAUDE_TOKEN)
    }
    expect(controller.output).not.toContain(CLAUDE_TOKEN)
    expect((await execa('ps', ['-eo', 'args'])).stdout).not.toContain(CLAUDE_TOKEN)
  })
})
