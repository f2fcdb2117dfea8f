/**
 * `bottle dashboard` as a person uses it: the built executable on a real
 * pseudo-terminal (tmux), a real controller and two real agents on the
 * engine. A request from one agent to a host its Bottle does not list shows
 * in the feed within a second and becomes a draft proposal; approving it
 * with one key shows the diff, edits the Bottle file, and the host answers
 * from inside the agent without a restart. The origin is a container on the
 * agent's egress network under a DNS alias (allowed by allowPrivate), so
 * no public name is needed.
 */
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../../controller/package-root.js'
import { liveSessionTmux, LIVE_SESSION } from '../../../controller/cli/session-command.js'
import { dockerNames } from '../../../controller/runtime/docker/names.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../../helpers/controller-process.js'
import { runCli } from '../../helpers/run-cli.js'
import { startEgressOrigin } from '../../helpers/egress-origin.js'
import { TempFolder } from '../../helpers/temp-folder.js'
import { TmuxPane } from '../../helpers/tmux-pane.js'

const docker = new Dockerode()
const instance = uniqueInstance('dash')
const root = packageRoot()
const ORIGIN_HOST = 'docs.origin.test'
const ORIGIN_LABEL = 'bottle.test.dashboard'

const bottle = (allowPrivate: string) => `# the dev box
apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: registry.npmjs.org   # packages
    allowPrivate: [${allowPrivate}]
`
const agent = (name: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  bottle: dev\n`

const BASH = ['bash', '--norc', '--noprofile']
/** The terminal's settings without its size, which the resize changes on purpose. */
const STTY = `stty -a | tr ';' '\\n' | grep -vE 'rows|columns' | tr -s ' \\n' ' '`

async function inAgent(name: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['exec', name, '--instance', instance, '--', 'sh', '-c', script])
}

async function containerId(name: string): Promise<string> {
  return (await docker.getContainer(name).inspect()).Id
}

describe('bottle dashboard on a real terminal, with a real controller and two agents', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess
  let pane: TmuxPane
  let origin: Dockerode.Container | undefined

  beforeAll(async () => {
    specs = await TempFolder.create('bottle-dash-specs-')
    state = await TempFolder.create('bottle-dash-state-')
    // An address no container has, until the egress network's subnet is known.
    await specs.write('bottles/dev.yaml', bottle('192.0.2.1/32'))
    await specs.write('agents/impl.yaml', agent('impl'))
    await specs.write('agents/reviewer.yaml', agent('reviewer'))
    controller = new ControllerProcess(specs, state, instance)
    controller.start()
    await controller.waitForStatus('agents/impl.yaml', 'impl', isReady, 600_000)
    await controller.waitForStatus('agents/reviewer.yaml', 'reviewer', isReady, 600_000)

    // The origin: the bundle's own image (it has node), on impl's egress network as docs.origin.test.
    const names = dockerNames(instance, 'impl')
    const network = await docker.getNetwork(names.egressNetwork).inspect()
    const subnet = (network.IPAM?.Config?.[0] as { Subnet?: string } | undefined)?.Subnet
    expect(subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/)
    origin = (await startEgressOrigin(docker, {
      network: names.egressNetwork,
      aliases: [ORIGIN_HOST],
      image: (await docker.getContainer(names.sidecars).inspect()).Config.Image,
      label: { [ORIGIN_LABEL]: instance },
    })).container
    await specs.write('bottles/dev.yaml', bottle(subnet!))

    // CI set, as CI runners set it: ink would then draw nothing until exit, and the dashboard must draw anyway.
    pane = await TmuxPane.start(BASH, { columns: 80, rows: 24, cwd: root, env: { PS1: 'outer$ ', TERM: 'tmux-256color', CI: 'true' } })
    await pane.waitFor(/^outer\$ $/m)
    await pane.type(`${STTY} > ${state.join('stty-before')}; node ${join(root, 'bin/bottle.js')} dashboard --dir ${specs.path} --instance ${instance}; code=$?; ${STTY} > ${state.join('stty-after')}; echo "bottle-exit=$code"`)
  })

  afterAll(async () => {
    await pane?.dispose()
    await origin?.remove({ force: true }).catch(() => undefined)
    await controller?.stop()
    await removeInstance(docker, instance)
    await specs?.dispose()
    await state?.dispose()
  })

  it('shows both agents at 80x24', async () => {
    const screen = await pane.waitFor(/^ reviewer +dev +docker +Running +True/m, 30_000)
    expect(screen).toMatch(/^>impl +dev +docker +Running +True/m)
    expect(screen).toMatch(/^bottle dashboard /m)
    expect(screen).toContain('── decisions: impl')
    for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('a refused request shows in the feed within 1 s and becomes a draft proposal', async () => {
    const refused = await inAgent('impl', `for i in 1 2 3; do curl -s -o /dev/null -w "%{http_code} " --max-time 5 "http://${ORIGIN_HOST}/docs/index?page=$i"; done`)
    const requestsDone = Date.now()
    expect(refused.stdout).toBe('403 403 403 ')
    await pane.waitFor(/refused +no-route +GET docs\.origin\.test\/docs\/index/, 5000)
    const shownAfterMs = Date.now() - requestsDone
    process.stdout.write(`refusal shown in the dashboard ${shownAfterMs} ms after the requests\n`)
    expect(shownAfterMs).toBeLessThan(1000)
    // The query string never reaches the screen.
    expect(await pane.screen()).not.toContain('page=')

    while ((await specs.readOptional('proposals/impl-denied-1.yaml')) === undefined) {
      if (Date.now() - requestsDone > 15_000) throw new Error(`no draft was filed; controller log:\n${controller.output.slice(-3000)}`)
      await sleep(50)
    }
    process.stdout.write(`draft filed ${Date.now() - requestsDone} ms after the requests\n`)
    const screen = await pane.waitFor(/^>impl-denied-1 +impl +docs\.origin\.test +draft: refused 3x/m, 15_000)
    process.stdout.write(`draft shown in the dashboard ${Date.now() - requestsDone} ms after the requests\n`)
    expect(screen).toContain('+      - host: docs.origin.test')
    const draft = await specs.read('proposals/impl-denied-1.yaml')
    expect(draft).toContain('source: denial')
    expect(draft).not.toContain('page=')
  })

  it('approving it in the dashboard shows the diff, edits the Bottle, and the host answers without a restart', async () => {
    const before = { agent: await containerId(dockerNames(instance, 'impl').agent), sidecars: await containerId(dockerNames(instance, 'impl').sidecars) }
    await pane.press('a')
    const screen = await pane.waitFor(/approved impl-denied-1: docs\.origin\.test added to Bottle dev \(bottles\/dev\.yaml\)/, 15_000)
    expect(screen).toMatch(/^\+ +- host: docs\.origin\.test$/m)
    expect(await specs.read('bottles/dev.yaml')).toContain('      - host: registry.npmjs.org   # packages\n      - host: docs.origin.test\n')

    const answered = await inAgent('impl', `end=$(($(date +%s) + 30)); until [ "$(curl -s -o /tmp/body --max-time 2 -w "%{http_code}" http://${ORIGIN_HOST}/docs/hello)" = 200 ]; do [ $(date +%s) -lt $end ] || exit 1; sleep 0.1; done; cat /tmp/body`)
    expect(answered).toMatchObject({ code: 0, stdout: 'origin docs.origin.test/docs/hello: hello\n' })
    expect({ agent: await containerId(dockerNames(instance, 'impl').agent), sidecars: await containerId(dockerNames(instance, 'impl').sidecars) }).toEqual(before)
    // esc closes the approve panel: the feed shows the request let through, and nothing is pending.
    await pane.press('Escape')
    await pane.waitFor(/allowed +GET docs\.origin\.test\/docs\/hello 200/, 5000)
    await pane.waitFor(/── proposals \(0 pending\)/, 10_000)
  })

  it('enter attaches to the agent and a detach comes back to the dashboard, keys working', async () => {
    // The agent's CLI runs in the box's own tmux; a long-lived stand-in there is what enter reattaches to.
    const live = liveSessionTmux('new-session', '-d', '-s', LIVE_SESSION.name, '--', 'sh', '-c', 'echo box-session-ready; exec sleep 3600')
    expect((await runCli(['exec', 'impl', '--instance', instance, '--', ...live])).code).toBe(0)
    await pane.press('Enter')
    await pane.waitFor(/box-session-ready/, 60_000)
    await pane.press('C-p', 'C-q')
    await pane.waitFor(/^bottle dashboard /m, 30_000)
    await pane.waitFor(/^>impl +dev +docker +Running/m, 10_000)
    await pane.press('?')
    await pane.waitFor(/── help \(esc closes\)/, 5000)
    await pane.press('Escape')
    await pane.waitFor(/^>impl +dev +docker +Running/m, 5000)
  })

  it('redraws on resize', async () => {
    await pane.resize(100, 30)
    const screen = await pane.waitFor(/^── decisions: impl ─{80,}$/m, 10_000)
    expect(screen.split('\n').find((l) => l.startsWith('── decisions'))?.length).toBe(100)
  })

  it('q quits and the terminal is as it was', async () => {
    await pane.press('q')
    const screen = await pane.waitFor(/^bottle-exit=0$/m, 10_000)
    await pane.waitForForeground('bash')
    expect(await state.read('stty-after')).toBe(await state.read('stty-before'))
    // What the attach said stays on the shell's screen; the dashboard's frames do not.
    expect(screen).toMatch(/attached to impl: back to the running session/)
    expect(screen).not.toMatch(/^bottle dashboard /m)
  })
})
