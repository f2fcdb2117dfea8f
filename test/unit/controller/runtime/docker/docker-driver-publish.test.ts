/**
 * The Docker driver as a smolvm bundle host that publishes on loopback,
 * against a stub engine (no Docker): what it creates the sidecars part
 * with, what it leaves the agent part, and the address it reports.
 */
import type Dockerode from 'dockerode'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { DockerDriver } from '../../../../../controller/runtime/docker/docker-driver.js'
import { dockerNames, ownershipLabels, runtimeOwner } from '../../../../../controller/runtime/docker/names.js'
import type { LoopbackAddressBook } from '../../../../../controller/runtime/loopback-addresses.js'
import type { PartName, PartSpec } from '../../../../../controller/runtime/driver.js'

const OWNER = runtimeOwner('default', 'smolvm')
const PORTS = [8888, 9420, 9100]
const spec: PartSpec = { image: 'img:1', env: {}, mounts: [], init: true, hash: 'h' }

class Book implements LoopbackAddressBook {
  async addressFor(agent: string): Promise<string> {
    return agent === 'dev' ? '127.0.0.16' : '127.0.0.17'
  }
  async release(_agent: string): Promise<void> {}
}

/** Just enough engine for createPart and hostReachableAddress; remembers every create. */
function stubEngine(): { docker: Dockerode; created: Dockerode.ContainerCreateOptions[] } {
  const created: Dockerode.ContainerCreateOptions[] = []
  const running = new Map<string, Dockerode.ContainerCreateOptions>()
  const notFound = Object.assign(new Error('no such container'), { statusCode: 404 })
  const docker = {
    info: async () => ({ Runtimes: { runc: {} } }),
    createContainer: async (options: Dockerode.ContainerCreateOptions) => {
      created.push(options)
      return { id: options.name, start: async () => void running.set(options.name!, options), remove: async () => undefined }
    },
    getNetwork: () => ({ connect: async () => undefined }),
    getContainer: (name: string) => ({
      inspect: async () => {
        const options = running.get(name)
        if (options === undefined) throw notFound
        const agent = options.Labels?.['bottle.dev/agent'] ?? ''
        return {
          Id: name,
          Config: { Labels: options.Labels },
          State: { Running: true, Status: 'running' },
          HostConfig: options.HostConfig,
          NetworkSettings: { Networks: { [dockerNames(OWNER, agent).egressNetwork]: { IPAddress: '172.30.0.2' } } },
        }
      },
    }),
  }
  return { docker: docker as unknown as Dockerode, created }
}

function driver(publish: boolean): { driver: DockerDriver; created: Dockerode.ContainerCreateOptions[]; book: Book } {
  const { docker, created } = stubEngine()
  const book = new Book()
  return {
    driver: new DockerDriver({ docker, instance: 'default', runtime: 'smolvm', workspaceVolume: false, logger: pino({ level: 'silent' }), ...(publish ? { publishBundle: { addresses: book, ports: PORTS } } : {}) }),
    created,
    book,
  }
}

const made = (created: Dockerode.ContainerCreateOptions[], part: PartName) => created.find((o) => o.Labels?.['bottle.dev/role'] === part)

describe('a Docker bundle host that publishes on loopback', () => {
  it('creates the sidecars part with the bundle\'s ports on the Agent\'s address, and reports that address', async () => {
    const { driver: d, created } = driver(true)
    await d.createPart('dev', 'sidecars', spec)
    const sidecars = made(created, 'sidecars')
    expect(sidecars?.Labels).toMatchObject(ownershipLabels(OWNER, 'dev', 'sidecars'))
    expect(sidecars?.HostConfig?.PortBindings).toEqual({
      '8888/tcp': [{ HostIp: '127.0.0.16', HostPort: '8888' }],
      '9100/tcp': [{ HostIp: '127.0.0.16', HostPort: '9100' }],
      '9420/tcp': [{ HostIp: '127.0.0.16', HostPort: '9420' }],
    })
    expect(await d.hostReachableAddress('dev', 'sidecars')).toBe('127.0.0.16')
    expect(await d.loopbackAddress('dev')).toBe('127.0.0.16')
  })

  it('creates the agent part exactly as a host that does not publish does', async () => {
    const publishing = driver(true)
    const plain = driver(false)
    await publishing.driver.createPart('dev', 'agent', spec)
    await plain.driver.createPart('dev', 'agent', spec)
    expect(made(publishing.created, 'agent')).toEqual(made(plain.created, 'agent'))
    expect(made(publishing.created, 'agent')?.HostConfig?.PortBindings).toBeUndefined()
  })

  it('without publishing: no ports, the bridge address, no loopback address', async () => {
    const { driver: d, created } = driver(false)
    await d.createPart('dev', 'sidecars', spec)
    expect(made(created, 'sidecars')?.HostConfig?.PortBindings).toBeUndefined()
    expect(await d.hostReachableAddress('dev', 'sidecars')).toBe('172.30.0.2')
    expect(await d.loopbackAddress('dev')).toBeUndefined()
  })
})
