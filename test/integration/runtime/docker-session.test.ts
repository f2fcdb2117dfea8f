import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerDriver } from '../../../controller/runtime/docker/docker-driver.js'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import type { InteractiveSession } from '../../../controller/runtime/interactive-session.js'
import { docker, removeInstance, testLogger, uniqueInstance } from './docker-fixtures.js'

// The driver's side of `bottle attach`: an exec on a TTY in a real agent box.

const instance = uniqueInstance('sess')
const agent = 'alpha'
let driver: DockerDriver

/** Everything the session's terminal shows, as it arrives. */
function screenOf(session: InteractiveSession): { text(): string; waitFor(pattern: RegExp): Promise<void> } {
  let text = ''
  session.output.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
  return {
    text: () => text,
    async waitFor(pattern) {
      const deadline = Date.now() + 20_000
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}; it shows:\n${text}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
  }
}

beforeAll(async () => {
  const image = await new DockerImageStore({ docker, logger: testLogger() }).ensure({ kind: 'agent', provider: 'claude' })
  driver = new DockerDriver({ instance, logger: testLogger(), stopTimeoutSeconds: 2 })
  await driver.ensureInfrastructure(agent)
  await driver.createPart(agent, 'agent', { image, env: {}, mounts: [{ kind: 'workspace', target: '/home/agent/workspace' }], init: true, hash: 'h1' })
})

afterAll(async () => {
  await removeInstance(instance)
})

describe('DockerDriver.openSession', () => {
  it('runs the command on a terminal of the asked size, as the asked user, and reports its exit code', async () => {
    const session = await driver.openSession(agent, 'agent', ['sh', '-c', 'test -t 0 && echo on-a-tty; stty size; id -un; pwd; echo "v=$V"; read line; echo "got:$line"; exit 5'], {
      user: 'agent',
      workdir: '/home/agent/workspace',
      env: { V: 'x1' },
      columns: 91,
      rows: 27,
    })
    const screen = screenOf(session)
    await screen.waitFor(/v=x1/)
    expect(screen.text()).toMatch(/on-a-tty\r\n27 91\r\nagent\r\n\/home\/agent\/workspace\r\nv=x1\r\n/)
    session.input.write('hello\r')
    expect(await session.wait()).toBe(5)
    expect(screen.text()).toContain('got:hello')
  })

  it('passes a resize on to the command', async () => {
    const session = await driver.openSession(agent, 'agent', ['sh', '-c', 'echo ready; read a; stty size'], { columns: 80, rows: 24 })
    const screen = screenOf(session)
    await screen.waitFor(/ready/)
    await session.resize(120, 40)
    session.input.write('\r')
    expect(await session.wait()).toBe(0)
    expect(screen.text()).toContain('40 120')
  })

  it('disconnects on close(); wait() then says the client closed it', async () => {
    const session = await driver.openSession(agent, 'agent', ['sh', '-c', 'echo ready; sleep 30'], { columns: 80, rows: 24 })
    await screenOf(session).waitFor(/ready/)
    session.close()
    await expect(session.wait()).rejects.toThrow(/closed by the client/)
  })

  it('refuses a part that does not exist', async () => {
    await expect(driver.openSession('gamma', 'agent', ['sh'], { columns: 80, rows: 24 })).rejects.toThrow(/docker: open-session .*-gamma-agent: no such part/)
  })
})
