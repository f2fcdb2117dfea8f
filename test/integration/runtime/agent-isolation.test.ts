/**
 * The isolation promise, tested from inside a real agent container: the
 * agent reaches its own bundle and nothing else. Not the host (on any of its
 * addresses, including the gateway address of the agent's own network), not
 * another Agent's bundle, not the internet, and no DNS lookup of an outside
 * name leaves the box.
 *
 * Every "refused" probe has a control that shows the same probe succeeds
 * from a place that is allowed to reach the target, so a refusal means
 * isolation and not a broken probe.
 */
import { networkInterfaces } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PartSpec } from '../../../controller/runtime/driver.js'
import { DockerDriver } from '../../../controller/runtime/docker/docker-driver.js'
import { BUNDLE_ALIASES } from '../../../controller/plan/bundle-services.js'
import { dockerNames, type DockerNames } from '../../../controller/runtime/docker/names.js'
import { startHostListeners, type HostListeners } from '../../helpers/host-listeners.js'
import { buildTestImages, docker, removeInstance, testLogger, uniqueInstance, type TestImages } from './docker-fixtures.js'

const instance = uniqueInstance('iso')
const agents = ['a', 'b'] as const
const names: Record<(typeof agents)[number], DockerNames> = { a: dockerNames(instance, 'a'), b: dockerNames(instance, 'b') }
const BUNDLE_PORTS = [8888, 9420, 9100]

let images: TestImages
let driver: DockerDriver
let listeners: HostListeners

type User = 'agent' | 'root'

/** Runs a TCP connect from inside agent A; prints "connected" or the error code. */
async function tcpFromAgent(user: User, host: string, port: number): Promise<string> {
  const script = `
    const socket = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 3000 })
    socket.on('connect', () => { console.log('connected'); process.exit(0) })
    socket.on('timeout', () => { console.log('ETIMEDOUT'); process.exit(1) })
    socket.on('error', (error) => { console.log(error.code); process.exit(1) })`
  const result = await driver.exec('a', 'agent', ['node', '-'], { user, stdin: script })
  return result.stdout.trim()
}

/** A plain HTTP GET with real curl from inside agent A, bypassing the proxy settings. */
async function curlFromAgent(user: User, url: string): Promise<{ exitCode: number; body: string }> {
  const result = await driver.exec('a', 'agent', ['curl', '-sS', '--noproxy', '*', '--connect-timeout', '3', '-m', '5', url], { user })
  return { exitCode: result.exitCode, body: result.stdout }
}

function hostIPv4Addresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && address.family === 'IPv4' && !address.internal)
    .map((address) => address!.address)
}

function sidecarsSpec(): PartSpec {
  return {
    image: images.sidecars,
    env: { BOTTLE_DAEMONS: 'listen', BOTTLE_STOP_GRACE_MS: '2000' },
    user: '1234:1234',
    mounts: [],
    aliases: [...BUNDLE_ALIASES],
    init: true,
    hash: 'sidecars-v1',
  }
}

function agentSpec(): PartSpec {
  return {
    image: images.agent,
    env: { HTTP_PROXY: 'http://egress:8888', HTTPS_PROXY: 'http://egress:8888', NO_PROXY: 'localhost,127.0.0.1' },
    mounts: [{ kind: 'workspace', target: '/home/agent/workspace' }],
    init: true,
    hash: 'agent-v1',
  }
}

async function networkFacts(name: string): Promise<{ gateway: string; id: string }> {
  const info = await docker.getNetwork(name).inspect()
  return { gateway: info.IPAM?.Config?.[0]?.Gateway ?? '', id: info.Id }
}

async function addressOn(container: string, network: string): Promise<string> {
  const info = await docker.getContainer(container).inspect()
  return info.NetworkSettings.Networks[network]?.IPAddress ?? ''
}

beforeAll(async () => {
  images = await buildTestImages()
  driver = new DockerDriver({ instance, logger: testLogger(), stopTimeoutSeconds: 3 })
  listeners = await startHostListeners()
  for (const agent of agents) {
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'sidecars', sidecarsSpec())
    await driver.createPart(agent, 'agent', agentSpec())
  }
  // The bundle answers once its listen daemon is up.
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if ((await curlFromAgent('agent', 'http://egress:8888/')).exitCode === 0) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
})

afterAll(async () => {
  await removeInstance(instance)
  await images?.cleanup()
  await listeners?.close()
})

describe('an agent container reaches its own bundle and nothing else', () => {
  const ownBundle = [
    { name: 'egress', port: 8888 },
    { name: 'git-gate', port: 9420 },
    { name: 'supervise', port: 9100 },
    { name: 'sidecars', port: 8888 },
  ]
  it.each(ownBundle)('reaches its bundle as $name:$port with curl', async ({ name, port }) => {
    expect(await curlFromAgent('agent', `http://${name}:${port}/`)).toEqual({ exitCode: 0, body: `listen ${port}\n` })
  })

  it.each<User>(['agent', 'root'])('does not reach a host service on any host address (as %s)', async (user) => {
    const { gateway } = await networkFacts(names.a.internalNetwork)
    const targets = [...new Set([gateway, ...hostIPv4Addresses()])]
    expect(targets.length).toBeGreaterThan(2)
    const outcomes = await Promise.all(targets.map(async (address) => [address, await tcpFromAgent(user, address, listeners.httpPort)]))
    for (const [address, outcome] of outcomes) {
      expect.soft(outcome, `host listener on ${address}`).not.toBe('connected')
    }
    expect(listeners.httpPeers).toEqual([])
  })

  it('cannot reach another Agent\'s bundle, on either of its networks or by name', async () => {
    const bInternal = await addressOn(names.b.sidecars, names.b.internalNetwork)
    const bEgress = await addressOn(names.b.sidecars, names.b.egressNetwork)
    expect(bInternal).not.toBe('')
    expect(bEgress).not.toBe('')
    const outcomes = await Promise.all(
      [bInternal, bEgress].flatMap((address) => BUNDLE_PORTS.map(async (port) => `${address}:${port} ${await tcpFromAgent('agent', address, port)}`)),
    )
    expect(outcomes.filter((outcome) => outcome.endsWith('connected'))).toEqual([])
    const byName = await curlFromAgent('agent', `http://${names.b.sidecars}:8888/`)
    expect(byName.exitCode).not.toBe(0)
  })

  const internet = [
    { name: 'an HTTPS server by address', host: '1.1.1.1', port: 443 },
    { name: 'a public DNS server over TCP', host: '8.8.8.8', port: 53 },
  ]
  it.each(internet)('does not reach $name ($host:$port)', async ({ host, port }) => {
    expect(await tcpFromAgent('agent', host, port)).not.toBe('connected')
  })

  it('resolves its bundle\'s names but no outside name', async () => {
    const inside = await driver.exec('a', 'agent', ['getent', 'hosts', 'egress'], { user: 'agent' })
    expect(inside.exitCode).toBe(0)
    expect(inside.stdout).toContain(await addressOn(names.a.sidecars, names.a.internalNetwork))
    const outside = await driver.exec('a', 'agent', ['getent', 'hosts', 'example.com'], { user: 'agent' })
    expect(outside).toMatchObject({ exitCode: 2, stdout: '' })
  })

  it('keeps a lookup of an outside name inside the box', async () => {
    // Docker's embedded DNS forwards names it does not know to the container's
    // configured resolver, even on an internal network. A listener on the
    // agent's own 127.0.0.1:53 shows where such a lookup goes; the host's
    // port 53 shows that nothing reached the host.
    const name = `leak-${instance}.example.com`
    const script = `
      const socket = require('dgram').createSocket('udp4')
      let forwardedInsideBox = 0
      socket.on('message', () => { forwardedInsideBox += 1 })
      socket.bind(53, '127.0.0.1', async () => {
        const outcome = async (server) => {
          const resolver = new (require('dns').promises.Resolver)({ timeout: 1500, tries: 1 })
          resolver.setServers([server])
          try { return 'resolved ' + (await resolver.resolve4(${JSON.stringify(name)})).join(',') } catch (error) { return error.code }
        }
        const embedded = await outcome('127.0.0.11')
        const direct = await outcome('8.8.8.8')
        console.log(JSON.stringify({ embedded, direct, forwardedInsideBox }))
        process.exit(0)
      })`
    const result = await driver.exec('a', 'agent', ['node', '-'], { user: 'agent', stdin: script })
    const report = JSON.parse(result.stdout) as { embedded: string; direct: string; forwardedInsideBox: number }
    expect(report.embedded).not.toMatch(/^resolved/)
    expect(report.direct).not.toMatch(/^resolved/)
    expect(report.forwardedInsideBox).toBeGreaterThan(0)
    expect(listeners.dnsPeers).toEqual([])
  })

  const noWayAround = [
    { name: 'route through its bundle', argv: ['ip', 'route', 'replace', 'default', 'via', 'BUNDLE'] },
    { name: 'add an address on another subnet', argv: ['ip', 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0'] },
    { name: 'turn IPv6 back on', argv: ['sh', '-c', 'echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6'] },
  ]
  it.each(noWayAround)('cannot $name, even as root in the box', async ({ argv }) => {
    const bundle = await addressOn(names.a.sidecars, names.a.internalNetwork)
    const result = await driver.exec('a', 'agent', argv.map((arg) => (arg === 'BUNDLE' ? bundle : arg)), { user: 'root' })
    expect(result.exitCode).not.toBe(0)
    expect(result.stderr).toMatch(/Operation not permitted|Read-only file system|Permission denied/)
  })

  it('has no IPv6, and its command runs without capabilities after the entrypoint dropped to the agent user', async () => {
    const script = 'cat /proc/sys/net/ipv6/conf/all/disable_ipv6; ip -6 addr; ' +
      'for pid in $(pgrep -f "^/bin/sh /usr/local/bin/bottle-agent-idle"); do echo "uid $(stat -c %u /proc/$pid)"; grep -E "^(CapEff|NoNewPrivs)" /proc/$pid/status; done'
    const result = await driver.exec('a', 'agent', ['sh', '-c', script], { user: 'agent' })
    const lines = result.stdout.trim().split('\n')
    expect(lines[0]).toBe('1')
    expect(result.stdout).not.toMatch(/inet6/)
    expect(lines.slice(1)).toEqual(['uid 1000', 'CapEff:\t0000000000000000', 'NoNewPrivs:\t1'])
  })

  describe('controls: the same probes succeed where they are allowed', () => {
    it('the host listener answers the bundle on its egress network\'s gateway', async () => {
      const { gateway } = await networkFacts(names.a.egressNetwork)
      const result = await driver.exec('a', 'sidecars', ['curl', '-sS', '--connect-timeout', '3', `http://${gateway}:${listeners.httpPort}/`])
      expect(result).toMatchObject({ exitCode: 0, stdout: 'host\n' })
    })

    it('the host DNS listener hears a query the bundle sends to that gateway', async () => {
      const { gateway } = await networkFacts(names.a.egressNetwork)
      const script = `
        const resolver = new (require('dns').promises.Resolver)({ timeout: 1000, tries: 1 })
        resolver.setServers([${JSON.stringify(gateway)}])
        resolver.resolve4('control.example.com').catch(() => undefined).finally(() => process.exit(0))`
      await driver.exec('a', 'sidecars', ['node', '-'], { stdin: script })
      expect(listeners.dnsPeers.length).toBeGreaterThan(0)
    })

    it('agent B reaches its own bundle', async () => {
      const result = await driver.exec('b', 'agent', ['curl', '-sS', '--noproxy', '*', '-m', '5', 'http://egress:9420/'], { user: 'agent' })
      expect(result).toMatchObject({ exitCode: 0, stdout: 'listen 9420\n' })
    })
  })
})
