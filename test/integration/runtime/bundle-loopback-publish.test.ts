/**
 * The smolvm runtime's bundle host on a real engine, publishing the
 * bundle's ports on the Agent's own loopback address (what macOS needs,
 * where a smolvm guest cannot reach the engine's bridge addresses). The
 * sidecars container is created on the Agent's internal network and joined
 * to the egress network afterwards: its ports must still answer on the
 * loopback address, with their own numbers, and nowhere else on the host.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUNDLE_ALIASES, BUNDLE_SERVICES } from '../../../controller/plan/bundle-services.js'
import { DockerDriver } from '../../../controller/runtime/docker/docker-driver.js'
import { runtimeOwner } from '../../../controller/runtime/docker/names.js'
import type { PartSpec } from '../../../controller/runtime/driver.js'
import { FileLoopbackAddressBook } from '../../../controller/runtime/loopback-addresses.js'
import { buildTestImages, docker, removeInstance, testLogger, uniqueInstance, type TestImages } from './docker-fixtures.js'

const instance = uniqueInstance('pub')
const PORTS = Object.values(BUNDLE_SERVICES).map((service) => service.port)
let images: TestImages
let work: string
let driver: DockerDriver

/** What answers on host:port over plain HTTP, or the connection's error code. */
function ask(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3_000 })
    let answer = ''
    socket.on('connect', () => socket.end(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`))
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
    socket.on('end', () => resolve(answer.slice(answer.indexOf('\r\n\r\n') + 4).trim()))
    socket.on('timeout', () => {
      socket.destroy()
      resolve('ETIMEDOUT')
    })
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
  })
}

/** What the bundle answers on host:port once its daemon listens (the engine's port proxy accepts before then). */
async function answerOf(host: string, port: number): Promise<string> {
  let answer = ''
  for (let i = 0; i < 50 && !answer.startsWith('listen '); i++) {
    answer = await ask(host, port)
    if (!answer.startsWith('listen ')) await new Promise((r) => setTimeout(r, 100))
  }
  return answer
}

beforeAll(async () => {
  images = await buildTestImages()
  work = mkdtempSync(join(tmpdir(), 'bottle-publish-'))
  driver = new DockerDriver({
    docker,
    instance,
    logger: testLogger(),
    runtime: 'smolvm',
    workspaceVolume: false,
    publishBundle: { addresses: new FileLoopbackAddressBook({ file: join(work, 'loopback-addresses.json'), instance }), ports: PORTS },
  })
  const spec: PartSpec = {
    image: images.sidecars,
    env: { BOTTLE_DAEMONS: 'listen' },
    user: '1234:1234',
    mounts: [{ kind: 'bind', source: work, target: '/etc/bottle/sidecars', readOnly: true }],
    aliases: [...BUNDLE_ALIASES],
    init: true,
    hash: 'publish-1',
  }
  for (const agent of ['dev', 'ops']) {
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'sidecars', spec)
  }
}, 600_000)

afterAll(async () => {
  await removeInstance(runtimeOwner(instance, 'smolvm'))
  await images?.cleanup()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('a bundle published on its Agent\'s loopback address', () => {
  it('answers on every bundle port of that address, with the same numbers', async () => {
    const address = await driver.hostReachableAddress('dev', 'sidecars')
    expect(address).toMatch(/^127\.0\.0\.(1[6-9]|[2-9]\d|1\d\d|2[0-4]\d|25[0-4])$/)
    for (const port of PORTS) expect(await answerOf(address!, port), `${address}:${port}`).toBe(`listen ${port}`)
  })

  it('gives each Agent its own address, and publishes on no other host address', async () => {
    const dev = await driver.hostReachableAddress('dev', 'sidecars')
    const ops = await driver.hostReachableAddress('ops', 'sidecars')
    expect(ops).not.toBe(dev)
    expect(await answerOf(ops!, 8888)).toBe('listen 8888')
    for (const name of ['dev', 'ops']) {
      const info = await docker.getContainer(`bottle-${instance}.smolvm-${name}-sidecars`).inspect()
      const bindings = Object.values(info.HostConfig.PortBindings ?? {}).flat() as Array<{ HostIp?: string }>
      expect(bindings.length).toBe(PORTS.length)
      for (const binding of bindings) expect(binding.HostIp).toBe(name === 'dev' ? dev : ops)
    }
    // Not on the host's other loopback addresses.
    expect(await ask('127.0.0.1', 8888)).not.toMatch(/^listen/)
  })
})
