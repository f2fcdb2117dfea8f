import Dockerode from 'dockerode'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runGetWatch } from '../../../controller/cli/commands/get.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../../helpers/controller-process.js'
import { runCli } from '../../helpers/run-cli.js'
import { TempFolder } from '../../helpers/temp-folder.js'

const docker = new Dockerode()
const instance = uniqueInstance('cli')

const bottle = (routes: string) => `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
${routes}`
const AGENT = 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec:\n  bottle: dev\n'

describe('the CLI against a running controller on Docker', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess
  const common = () => ['--instance', instance, '--state-dir', state.path]

  beforeAll(async () => {
    specs = await TempFolder.create('bottle-cli-specs-')
    state = await TempFolder.create('bottle-cli-state-')
    await specs.write('bottles/dev.yaml', bottle('      - host: registry.npmjs.org\n'))
    await specs.write('agents/impl.yaml', AGENT)
    controller = new ControllerProcess(specs, state, instance)
    controller.start()
    await controller.waitForStatus('agents/impl.yaml', 'impl', isReady)
  })

  afterAll(async () => {
    await controller?.stop()
    await removeInstance(docker, instance)
    await specs?.dispose()
    await state?.dispose()
  })

  it('exec runs as the agent in its workspace and passes the exit code through', async () => {
    const who = await runCli(['exec', 'impl', '--instance', instance, '--', 'sh', '-c', 'id -un; pwd'])
    expect(who).toMatchObject({ code: 0, stdout: 'agent\n/home/agent/workspace\n' })
    const failing = await runCli(['exec', 'impl', '--instance', instance, '--', 'sh', '-c', 'echo oops >&2; exit 42'])
    expect(failing).toMatchObject({ code: 42, stderr: 'oops\n' })
  })

  it('diff classes a route edit as hot and an env edit as recreate, and changes nothing', async () => {
    const draft = await TempFolder.create('bottle-cli-draft-')
    await draft.write('dev.yaml', bottle('      - host: registry.npmjs.org\n      - host: pypi.org\n'))
    const hot = await runCli(['diff', '-f', draft.join('dev.yaml'), '--dir', specs.path, ...common()])
    expect(hot.code).toBe(1)
    expect(hot.stdout).toContain('Agent/impl (agents/impl.yaml): hot')
    expect(hot.stdout).toContain('+ route pypi.org')
    await draft.write('impl.yaml', AGENT + '  env: {MODE: fast}\n')
    const recreate = await runCli(['diff', '-f', draft.join('impl.yaml'), '--dir', specs.path, ...common()])
    expect(recreate.stdout).toContain('Agent/impl (agents/impl.yaml): recreate')
    expect(recreate.stdout).toContain('+ env.MODE="fast"')
    const same = await runCli(['diff', '-f', specs.join('agents/impl.yaml'), '--dir', specs.path, ...common()])
    expect(same).toMatchObject({ code: 0 })
    expect(same.stdout).toContain('no changes')
    await draft.dispose()
  })

  it('describe shows conditions, runtime and routes', async () => {
    const { code, stdout } = await runCli(['describe', 'agent', 'impl', '--dir', specs.path])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Phase:\s+Running$/m)
    expect(stdout).toMatch(/^\s+Ready\s+True\s+Running\b/m)
    expect(stdout).toContain(`agent: bottle-${instance}-impl-agent running`)
    expect(stdout).toContain('registry.npmjs.org tls=intercept')
  })

  it('logs --sidecar egress shows only the egress daemon', async () => {
    const { code, stdout } = await runCli(['logs', 'impl', '--sidecar', 'egress', '--instance', instance])
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(JSON.parse(line).component).toBe('egress')
    expect(stdout).toContain('"event":"proxy.listening"')
  })

  it('get -w prints a row when an agent changes', async () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (d: Buffer) => (text += d.toString()))
    const abort = new AbortController()
    const watching = runGetWatch('agents', undefined, { dir: specs.path, format: 'table', signal: abort.signal }, out)
    const printed = Date.now() + 10_000
    while (!/\nimpl\s/.test(text) && Date.now() < printed) await sleep(50)
    expect(text).toMatch(/^NAME\s+BOTTLE\s+PHASE\s+READY\s+AGE\nimpl\s+dev\s+Running\s+True/)
    await specs.write('agents/impl.yaml', AGENT + '  suspend: true\n')
    const deadline = Date.now() + 60_000
    while (!/^impl\s+dev\s+Suspended\b/m.test(text) && Date.now() < deadline) await sleep(100)
    abort.abort()
    await watching
    expect(text).toMatch(/^impl\s+dev\s+Suspended\b/m)
  })

  it('delete --purge removes the spec, the containers and the workspace volume', async () => {
    const { code, stdout } = await runCli(['delete', 'impl', '--dir', specs.path, '--purge', '--timeout', '60s', ...common()])
    expect(code).toBe(0)
    expect(stdout).toBe('agent/impl deleted (agents/impl.yaml)\nagent/impl workspace purged\n')
    expect(await specs.readOptional('agents/impl.yaml')).toBeUndefined()
    const filters = { label: [`bottle.dev/instance=${instance}`, 'bottle.dev/agent=impl'] }
    expect(await docker.listContainers({ all: true, filters })).toEqual([])
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([])
  })
})
