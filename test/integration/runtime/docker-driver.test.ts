import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PartSpec, PartEvent } from '../../../controller/runtime/driver.js'
import { DockerDriver } from '../../../controller/runtime/docker/docker-driver.js'
import { BUNDLE_ALIASES } from '../../../controller/plan/bundle-services.js'
import { dockerNames } from '../../../controller/runtime/docker/names.js'
import { buildTestImages, docker, removeInstance, testLogger, uniqueInstance, type TestImages } from './docker-fixtures.js'

const instance = uniqueInstance('drv')
const agent = 'alpha'
const names = dockerNames(instance, agent)
let images: TestImages
let driver: DockerDriver
let configDir: string
const strangers: string[] = []

function sidecarsSpec(hash: string): PartSpec {
  return {
    image: images.sidecars,
    env: { BOTTLE_DAEMONS: 'listen,forever', BOTTLE_STOP_GRACE_MS: '2000' },
    user: '1234:1234',
    mounts: [{ kind: 'bind', source: configDir, target: '/etc/bottle/sidecars', readOnly: true }],
    aliases: [...BUNDLE_ALIASES, 'api.internal'],
    init: true,
    hash,
  }
}

function agentSpec(hash: string, env: Record<string, string> = {}): PartSpec {
  return {
    image: images.agent,
    env: { HTTP_PROXY: 'http://egress:8888', ...env },
    mounts: [{ kind: 'workspace', target: '/home/agent/workspace' }],
    resources: { cpus: 0.5, memoryMiB: 256 },
    init: true,
    hash,
  }
}

async function startStranger(name: string): Promise<string> {
  const container = await docker.createContainer({ name, Image: images.agent, Cmd: ['/usr/local/bin/bottle-agent-idle'] })
  await container.start()
  strangers.push(container.id)
  return container.id
}

beforeAll(async () => {
  images = await buildTestImages()
  configDir = mkdtempSync(join(tmpdir(), 'bottle-driver-config-'))
  writeFileSync(join(configDir, 'config.json'), '{}\n')
  driver = new DockerDriver({ instance, logger: testLogger(), stopTimeoutSeconds: 5 })
})

afterAll(async () => {
  await Promise.all(strangers.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)))
  await removeInstance(instance)
  await images?.cleanup()
  if (configDir) rmSync(configDir, { recursive: true, force: true })
})

describe('DockerDriver against a real engine', () => {
  it('creates the networks and the workspace volume once, with ownership labels', async () => {
    await driver.ensureInfrastructure(agent)
    const afterFirst = driver.mutations
    await driver.ensureInfrastructure(agent)
    expect(driver.mutations).toBe(afterFirst)

    const internal = await docker.getNetwork(names.internalNetwork).inspect()
    const egress = await docker.getNetwork(names.egressNetwork).inspect()
    const volume = await docker.getVolume(names.workspace).inspect()
    const owned = { 'bottle.dev/managed': 'true', 'bottle.dev/instance': instance, 'bottle.dev/agent': agent }
    expect(internal).toMatchObject({ Internal: true, Labels: { ...owned, 'bottle.dev/role': 'network-internal' } })
    expect(internal.Options?.['com.docker.network.bridge.inhibit_ipv4']).toBe('true')
    // A /28 of its own from the driver's pool, not a /16 from the engine's few default pools.
    expect(internal.IPAM?.Config?.[0]?.Subnet).toMatch(/^10\.213\.\d+\.\d+\/28$/)
    expect(egress).toMatchObject({ Internal: false, Labels: { ...owned, 'bottle.dev/role': 'network-egress' } })
    expect(volume.Labels).toMatchObject({ ...owned, 'bottle.dev/role': 'workspace' })
  })

  it('creates both parts with labels, hardening and the topology of the design', async () => {
    await driver.createPart(agent, 'sidecars', sidecarsSpec('s1'))
    await driver.createPart(agent, 'agent', agentSpec('a1'))

    const sidecars = await docker.getContainer(names.sidecars).inspect()
    const agentBox = await docker.getContainer(names.agent).inspect()
    expect(sidecars.Config.Labels).toMatchObject({ 'bottle.dev/role': 'sidecars', 'bottle.dev/spec-hash': 's1', 'bottle.dev/instance': instance })
    expect(agentBox.Config.Labels).toMatchObject({ 'bottle.dev/role': 'agent', 'bottle.dev/spec-hash': 'a1', 'bottle.dev/agent': agent })

    expect(Object.keys(agentBox.NetworkSettings.Networks)).toEqual([names.internalNetwork])
    expect(Object.keys(sidecars.NetworkSettings.Networks).sort()).toEqual([names.egressNetwork, names.internalNetwork].sort())
    expect(sidecars.NetworkSettings.Networks[names.internalNetwork]?.Aliases).toEqual(
      expect.arrayContaining(['egress', 'git-gate', 'supervise', 'sidecars', 'api.internal']),
    )

    expect(agentBox.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN', 'KILL', 'SETUID', 'SETGID'],
      SecurityOpt: ['no-new-privileges:true'],
      PidsLimit: 4096,
      NanoCpus: 500_000_000,
      Memory: 256 * 1024 * 1024,
      Dns: ['127.0.0.1'],
      DnsOptions: ['timeout:1', 'attempts:1'],
      Init: true,
    })
    expect(agentBox.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: names.workspace, Destination: '/home/agent/workspace' })])
    expect(sidecars.Config.User).toBe('1234:1234')
    expect(sidecars.HostConfig).toMatchObject({ CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges:true'], Init: true })
    expect(sidecars.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: configDir, Destination: '/etc/bottle/sidecars', RW: false })])
  })

  it('observes both parts running, with their hashes, and changes nothing doing so', async () => {
    const before = driver.mutations
    const observed = await driver.observe()
    expect(driver.mutations).toBe(before)
    expect(observed).toHaveLength(1)
    const [alpha] = observed
    expect(alpha).toMatchObject({
      agent,
      infrastructureReady: true,
      workspace: names.workspace,
      infrastructure: [names.egressNetwork, names.internalNetwork, names.workspace].sort(),
      parts: {
        agent: { name: names.agent, state: 'running', hash: 'a1', image: images.agent },
        sidecars: { name: names.sidecars, state: 'running', hash: 's1', image: images.sidecars },
      },
    })
    expect(alpha?.parts.sidecars?.internalAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
  })

  it('runs commands in a part with stdin, stdout, stderr and the exit code', async () => {
    const cases = [
      { argv: ['sh', '-c', 'cat; echo err >&2; exit 3'], stdin: 'hello\n', want: { exitCode: 3, stdout: 'hello\n', stderr: 'err\n' } },
      { argv: ['id', '-u'], options: { user: 'agent' }, want: { exitCode: 0, stdout: '1000\n', stderr: '' } },
      { argv: ['sh', '-c', 'echo "$GREETING"'], options: { env: { GREETING: 'hi' } }, want: { exitCode: 0, stdout: 'hi\n', stderr: '' } },
    ]
    for (const { argv, stdin, options, want } of cases) {
      const result = await driver.exec(agent, 'agent', argv, { ...options, ...(stdin !== undefined ? { stdin } : {}) })
      expect(result).toEqual(want)
    }
  })

  it('keeps the workspace across a recreate with a new spec hash', async () => {
    await driver.exec(agent, 'agent', ['sh', '-c', 'echo kept > /home/agent/workspace/note'], { user: 'agent' })
    const before = await docker.getContainer(names.agent).inspect()
    await driver.createPart(agent, 'agent', agentSpec('a2', { EXTRA: '1' }))
    const after = await docker.getContainer(names.agent).inspect()
    expect(after.Id).not.toBe(before.Id)
    const observed = await driver.observe()
    expect(observed[0]?.parts.agent).toMatchObject({ hash: 'a2', state: 'running' })
    const read = await driver.exec(agent, 'agent', ['cat', '/home/agent/workspace/note'])
    expect(read.stdout).toBe('kept\n')
  })

  it('stops and starts a part; the agent image exits cleanly on SIGTERM', async () => {
    await driver.stopPart(agent, 'agent')
    const stopped = await docker.getContainer(names.agent).inspect()
    // 0, not 137: the idle command handled SIGTERM instead of being killed.
    expect(stopped.State).toMatchObject({ Running: false, ExitCode: 0 })
    expect((await driver.observe())[0]?.parts.agent).toMatchObject({ state: 'stopped', exitCode: 0 })
    await driver.startPart(agent, 'agent')
    expect((await driver.observe())[0]?.parts.agent?.state).toBe('running')
  })

  it('reports lifecycle events of its own parts only', async () => {
    const controller = new AbortController()
    const seen: PartEvent[] = []
    const collecting = (async () => {
      for await (const event of driver.events(controller.signal)) {
        seen.push(event)
        if (event.kind === 'start' && event.part === 'agent') controller.abort()
      }
    })()
    // The events stream is open once the engine has answered the request.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const stranger = await startStranger(`${names.prefix}-stranger`)
    await driver.stopPart(agent, 'agent')
    await driver.startPart(agent, 'agent')
    await collecting
    expect(seen.map((event) => `${event.part}:${event.kind}`)).toEqual(
      expect.arrayContaining(['agent:kill', 'agent:die', 'agent:stop', 'agent:start']),
    )
    expect(seen.every((event) => event.agent === agent)).toBe(true)
    expect(seen.some((event) => event.time.length > 0 && Number.isNaN(Date.parse(event.time)))).toBe(false)
    await docker.getContainer(stranger).remove({ force: true })
  })

  it('signals the bundle, restarts one daemon on request and reaps orphans', async () => {
    const following = new AbortController()
    const timeout = setTimeout(() => following.abort(), 15_000)
    const reloaded: string[] = []
    const follow = (async () => {
      for await (const line of driver.logs(agent, 'sidecars', { follow: true, tail: 0, signal: following.signal })) {
        if (line.includes('"event":"hup"')) reloaded.push((JSON.parse(line) as { daemon: string }).daemon)
        if (reloaded.length === 2) following.abort()
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 300))
    await driver.signalPart(agent, 'sidecars', 'SIGHUP')
    await follow
    clearTimeout(timeout)
    expect(reloaded.sort()).toEqual(['forever', 'listen'])

    const status = async (): Promise<Record<string, number>> => {
      const result = await driver.exec(agent, 'sidecars', ['node', '/opt/bottle/init.mjs', 'status'])
      const answer = JSON.parse(result.stdout) as { daemons: Array<{ name: string; pid: number }> }
      return Object.fromEntries(answer.daemons.map((daemon) => [daemon.name, daemon.pid]))
    }
    const before = await status()
    const restart = await driver.exec(agent, 'sidecars', ['node', '/opt/bottle/init.mjs', 'restart', 'forever'])
    expect(restart.exitCode).toBe(0)
    const after = await status()
    expect(after.forever).not.toBe(before.forever)
    expect(after.listen).toBe(before.listen)

    // The shell exits at once; its background child is orphaned to PID 1.
    await driver.exec(agent, 'sidecars', ['sh', '-c', 'sleep 0.3 & exit 0'])
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const ps = await driver.exec(agent, 'sidecars', ['ps', '-eo', 'stat=,comm='])
    expect(ps.stdout.split('\n').filter((line) => line.trim().startsWith('Z'))).toEqual([])
  })

  it('replaces an internal network made by an older isolation recipe', async () => {
    const delta = dockerNames(instance, 'delta')
    const old = await docker.createNetwork({
      Name: delta.internalNetwork,
      Internal: true,
      Labels: { 'bottle.dev/managed': 'true', 'bottle.dev/instance': instance, 'bottle.dev/agent': 'delta', 'bottle.dev/role': 'network-internal' },
    })
    expect((await driver.observe()).find((observed) => observed.agent === 'delta')?.infrastructureReady).toBe(false)
    await driver.ensureInfrastructure('delta')
    const replaced = await docker.getNetwork(delta.internalNetwork).inspect()
    expect(replaced.Id).not.toBe(old.id)
    expect(replaced.Options?.['com.docker.network.bridge.inhibit_ipv4']).toBe('true')
    expect((await driver.observe()).find((observed) => observed.agent === 'delta')?.infrastructureReady).toBe(true)
    await driver.removeAgent('delta', { purgeWorkspace: true })
  })

  it('lets a second driver of the same instance adopt everything, and hides it from other instances', async () => {
    const adopter = new DockerDriver({ instance, logger: testLogger() })
    const other = new DockerDriver({ instance: uniqueInstance('oth'), logger: testLogger() })
    expect(await adopter.observe()).toEqual(await driver.observe())
    expect(await other.observe()).toEqual([])
    expect(adopter.mutations + other.mutations).toBe(0)
  })

  it('refuses to replace a container it does not own, and removeAgent leaves such containers alone', async () => {
    const lookalike = dockerNames(instance, 'beta')
    await startStranger(lookalike.agent)
    const bystander = await startStranger(uniqueInstance('bystander-'))
    await driver.ensureInfrastructure('beta')
    await expect(driver.createPart('beta', 'agent', agentSpec('b1'))).rejects.toThrow(/not managed by this controller/)
    await driver.removeAgent('beta', { purgeWorkspace: true })
    await driver.removeAgent(agent, { purgeWorkspace: false })
    expect((await docker.getContainer(lookalike.agent).inspect()).State.Running).toBe(true)
    expect((await docker.getContainer(bystander).inspect()).State.Running).toBe(true)
  })

  it('keeps the workspace volume after removeAgent and deletes it only with purge', async () => {
    const observed = await driver.observe()
    expect(observed).toEqual([{ agent, parts: {}, infrastructureReady: false, infrastructure: [names.workspace], workspace: names.workspace }])
    await expect(docker.getNetwork(names.internalNetwork).inspect()).rejects.toMatchObject({ statusCode: 404 })
    await expect(docker.getContainer(names.sidecars).inspect()).rejects.toMatchObject({ statusCode: 404 })

    await driver.removeAgent(agent, { purgeWorkspace: true })
    expect(await driver.observe()).toEqual([])
    await expect(docker.getVolume(names.workspace).inspect()).rejects.toMatchObject({ statusCode: 404 })
  })

  it('turns engine failures into one-line DriverErrors', async () => {
    const cases = [
      { call: () => driver.startPart('gamma', 'agent'), error: /docker: start-part bottle-.*-gamma-agent: no such part/ },
      { call: () => driver.createPart('Bad_Name', 'agent', agentSpec('x')), error: /docker: create-part Bad_Name: agent "Bad_Name" must match/ },
      { call: () => driver.exec('gamma', 'sidecars', ['true']), error: /docker: exec .*-gamma-sidecars: no such part/ },
    ]
    for (const { call, error } of cases) {
      const failure = await call().then(
        () => undefined,
        (thrown: unknown) => thrown as Error,
      )
      expect(failure?.name).toBe('DriverError')
      expect(failure?.message).toMatch(error)
      expect(failure?.message).not.toContain('\n')
    }
  })
})
