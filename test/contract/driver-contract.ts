/**
 * The driver contract: what every RuntimeDriver does, pinned once and run
 * against each driver (the fake in the unit project, Docker in the
 * integration project, a VM driver when there is one). Where the fake used to
 * be laxer than Docker (signalling a stopped part, starting a missing one),
 * these tests are why it no longer is.
 *
 * A driver's tests call `driverContract(name, setup)`; `setup` hands over the
 * driver and a part spec whose box behaves as described on `ContractSubject`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DriverError, type ObservedAgent, type PartName, type PartSpec, type RuntimeDriver, type PartEvent } from '../../controller/runtime/driver.js'

/** Printed by the contract box when it starts. */
export const GREETING = 'contract-box: started'
/** Printed by the contract box on SIGHUP; it keeps running. */
export const RELOADED = 'contract-box: reloaded'

export interface ContractSubject {
  driver: RuntimeDriver
  /**
   * A part spec (no workspace mount) whose box prints GREETING to its output
   * each time it starts, prints RELOADED on SIGHUP and keeps running, and
   * stops on the driver's stop. Its exec runs real commands (`sh`, `cat`).
   */
  partSpec(hash: string): PartSpec
  /** Removes whatever the tests left behind. */
  cleanup(): Promise<void>
}

const WAIT_MS = 30_000

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export function driverContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`the driver contract: ${name}`, () => {
    let subject: ContractSubject
    let driver: RuntimeDriver
    let agents = 0
    /** A fresh Agent name per test, so no test sees another's objects. */
    const nextAgent = (): string => `contract-${++agents}`

    beforeAll(async () => {
      subject = await setup()
      driver = subject.driver
    })
    afterAll(async () => {
      await subject?.cleanup()
    })

    const observed = async (agent: string): Promise<ObservedAgent | undefined> => (await driver.observe()).find((a) => a.agent === agent)
    const linesOf = async (agent: string, part: PartName, tail?: number): Promise<string[]> => {
      const lines: string[] = []
      for await (const line of driver.logs(agent, part, tail === undefined ? {} : { tail })) lines.push(line)
      return lines
    }
    /** Waits until the part has printed `line` `times` times. */
    const printed = (agent: string, part: PartName, line: string, times = 1) =>
      until(`"${line}" x${times} in the logs of ${agent}/${part}`, async () => ((await linesOf(agent, part)).filter((l) => l.includes(line)).length >= times ? true : undefined))
    const running = async (agent: string, part: PartName = 'agent'): Promise<string> => {
      await driver.ensureInfrastructure(agent)
      await driver.createPart(agent, part, subject.partSpec('h1'))
      await printed(agent, part, GREETING)
      return agent
    }
    const rejectsAsDriver = async (call: Promise<unknown>, message: RegExp): Promise<void> => {
      const error = await call.then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(DriverError)
      expect((error as DriverError).message).toMatch(message)
    }

    describe('observe', () => {
      it('reports nothing of an Agent never made, and changes nothing', async () => {
        const before = driver.mutations
        expect(await observed(nextAgent())).toBeUndefined()
        expect(driver.mutations).toBe(before)
      })
    })

    describe('ensureInfrastructure', () => {
      it('makes the networks and the workspace, and a second call changes nothing', async () => {
        const agent = nextAgent()
        await driver.ensureInfrastructure(agent)
        expect(await observed(agent)).toMatchObject({ agent, parts: {}, infrastructureReady: true, workspace: expect.any(String) })
        const before = driver.mutations
        await driver.ensureInfrastructure(agent)
        expect(driver.mutations).toBe(before)
        expect((await observed(agent))?.infrastructureReady).toBe(true)
      })

      it('must come first: a part cannot be created without it', async () => {
        const agent = nextAgent()
        await expect(driver.createPart(agent, 'agent', subject.partSpec('h1'))).rejects.toBeInstanceOf(DriverError)
        expect((await observed(agent))?.parts.agent).toBeUndefined()
      })
    })

    describe('createPart', () => {
      it('creates and starts the part, labelled with its spec hash', async () => {
        const agent = await running(nextAgent())
        expect((await observed(agent))?.parts.agent).toMatchObject({ state: 'running', hash: 'h1', id: expect.any(String), name: expect.any(String) })
      })

      it('replaces a part of the same name (a recreate), leaving the workspace', async () => {
        const agent = await running(nextAgent())
        const first = (await observed(agent))!
        await driver.createPart(agent, 'agent', subject.partSpec('h2'))
        const second = (await observed(agent))!
        expect(second.parts.agent).toMatchObject({ state: 'running', hash: 'h2' })
        expect(second.parts.agent?.id).not.toBe(first.parts.agent?.id)
        expect(second.workspace).toBe(first.workspace)
      })
    })

    describe('startPart, stopPart, removePart', () => {
      it('stop then start: stopped, then running again; repeating either is no error', async () => {
        const agent = await running(nextAgent())
        await driver.stopPart(agent, 'agent')
        expect((await observed(agent))?.parts.agent?.state).toBe('stopped')
        await driver.stopPart(agent, 'agent')
        await driver.startPart(agent, 'agent')
        expect((await observed(agent))?.parts.agent?.state).toBe('running')
        await printed(agent, 'agent', GREETING, 2)
        await driver.startPart(agent, 'agent')
        expect((await observed(agent))?.parts.agent?.state).toBe('running')
      })

      it('a part that does not exist: start fails, stop and remove are no-ops; none of them changes anything', async () => {
        const agent = nextAgent()
        await driver.ensureInfrastructure(agent)
        const before = driver.mutations
        await rejectsAsDriver(driver.startPart(agent, 'agent'), /no such part/)
        await driver.stopPart(agent, 'agent')
        await driver.removePart(agent, 'agent')
        expect(driver.mutations).toBe(before)
        expect((await observed(agent))?.parts).toEqual({})
      })

      it('remove takes one part and leaves the other', async () => {
        const agent = await running(nextAgent())
        await driver.createPart(agent, 'sidecars', subject.partSpec('s1'))
        await driver.removePart(agent, 'agent')
        const now = await observed(agent)
        expect(now?.parts.agent).toBeUndefined()
        expect(now?.parts.sidecars?.state).toBe('running')
      })
    })

    describe('signalPart', () => {
      it('delivers the signal to a running part, which keeps running', async () => {
        const agent = await running(nextAgent())
        await driver.signalPart(agent, 'agent', 'SIGHUP')
        await printed(agent, 'agent', RELOADED)
        expect((await observed(agent))?.parts.agent?.state).toBe('running')
      })

      it('fails for a stopped part and for a missing one, changing nothing', async () => {
        const agent = await running(nextAgent())
        await rejectsAsDriver(driver.signalPart(agent, 'sidecars', 'SIGHUP'), /no such part/)
        await driver.stopPart(agent, 'agent')
        const before = driver.mutations
        await rejectsAsDriver(driver.signalPart(agent, 'agent', 'SIGHUP'), /not running/)
        expect(driver.mutations).toBe(before)
        expect((await observed(agent))?.parts.agent?.state).toBe('stopped')
      })
    })

    describe('exec', () => {
      it('passes the exit code and keeps stdout and stderr apart', async () => {
        const agent = await running(nextAgent())
        expect(await driver.exec(agent, 'agent', ['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' })
        expect((await driver.exec(agent, 'agent', ['true'])).exitCode).toBe(0)
      })

      it('writes stdin and closes it; sets env and workdir', async () => {
        const agent = await running(nextAgent())
        expect((await driver.exec(agent, 'agent', ['cat'], { stdin: 'line one\nline two\n' })).stdout).toBe('line one\nline two\n')
        expect((await driver.exec(agent, 'agent', ['cat'], { stdin: Buffer.from('bytes') })).stdout).toBe('bytes')
        const result = await driver.exec(agent, 'agent', ['sh', '-c', 'echo "$CONTRACT_VALUE"; pwd'], { env: { CONTRACT_VALUE: 'forty-two' }, workdir: '/tmp' })
        expect(result.stdout).toBe('forty-two\n/tmp\n')
      })

      it('fails in a stopped part and in a missing one', async () => {
        const agent = await running(nextAgent())
        await rejectsAsDriver(driver.exec(agent, 'sidecars', ['true']), /no such part/)
        await driver.stopPart(agent, 'agent')
        await rejectsAsDriver(driver.exec(agent, 'agent', ['true']), /not running/)
      })
    })

    describe('logs', () => {
      it('returns the part\'s output, the last lines with tail, and fails for a missing part', async () => {
        const agent = await running(nextAgent())
        await driver.signalPart(agent, 'agent', 'SIGHUP')
        await printed(agent, 'agent', RELOADED)
        expect(await linesOf(agent, 'agent')).toEqual([GREETING, RELOADED])
        expect(await linesOf(agent, 'agent', 1)).toEqual([RELOADED])
        await rejectsAsDriver(linesOf(agent, 'sidecars'), /no such part/)
      })

      it('follows new output until aborted', async () => {
        const agent = await running(nextAgent())
        const abort = new AbortController()
        const seen: string[] = []
        const following = (async () => {
          for await (const line of driver.logs(agent, 'agent', { follow: true, signal: abort.signal })) {
            seen.push(line)
            if (line.includes(RELOADED)) abort.abort()
          }
        })()
        await until('the greeting through follow', async () => (seen.includes(GREETING) ? true : undefined))
        await driver.signalPart(agent, 'agent', 'SIGHUP')
        await following
        expect(seen).toEqual([GREETING, RELOADED])
      })
    })

    describe('events', () => {
      it('reports start, die and destroy of managed parts until aborted', async () => {
        const agent = nextAgent()
        await driver.ensureInfrastructure(agent)
        const abort = new AbortController()
        const seen: PartEvent[] = []
        const following = (async () => {
          for await (const event of driver.events(abort.signal)) if (event.agent === agent) seen.push(event)
        })()
        // The subscription is made when iteration starts; give an engine a moment to open it.
        await new Promise((r) => setTimeout(r, 1000))
        const saw = (kind: PartEvent['kind']) => until(`a ${kind} event`, async () => (seen.some((e) => e.kind === kind && e.part === 'agent') ? true : undefined))
        await driver.createPart(agent, 'agent', subject.partSpec('h1'))
        await saw('start')
        await driver.stopPart(agent, 'agent')
        await saw('die')
        await driver.removePart(agent, 'agent')
        await saw('destroy')
        abort.abort()
        await following
        expect(seen.every((e) => typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)))).toBe(true)
      })
    })

    describe('removeAgent', () => {
      it('removes both parts and the infrastructure but keeps the workspace; purge removes that too', async () => {
        const agent = await running(nextAgent())
        await driver.createPart(agent, 'sidecars', subject.partSpec('s1'))
        await driver.removeAgent(agent, { purgeWorkspace: false })
        const kept = await observed(agent)
        expect(kept).toMatchObject({ parts: {}, infrastructureReady: false, workspace: expect.any(String) })
        await driver.removeAgent(agent, { purgeWorkspace: true })
        expect(await observed(agent)).toBeUndefined()
      })

      it('is a no-op for an Agent that has nothing', async () => {
        const agent = nextAgent()
        await driver.removeAgent(agent, { purgeWorkspace: true })
        expect(await observed(agent)).toBeUndefined()
      })
    })
  })
}
