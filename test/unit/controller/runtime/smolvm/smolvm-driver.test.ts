/**
 * The smolvm driver's own promises, beyond the contract, on the fake
 * `smolvm`: the exact command lines it runs (the network is the bundle's
 * /32 and nothing else; no secret is ever a word), a host without smolvm,
 * a machine that does not boot, and a restarted controller adopting boxes.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DriverError, type PartSpec } from '../../../../../controller/runtime/driver.js'
import { BUNDLE_ALIASES } from '../../../../../controller/plan/bundle-services.js'
import { SmolvmError } from '../../../../../controller/runtime/smolvm/smolvm-cli.js'
import { FAKE_SMOLVM, fakeSmolvm, type FakeSmolvm } from './fake-smolvm.js'

// Every fake smolvm call starts a node process: a box's boot is a dozen of them, slow on a busy machine.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 })

const BOX = ['sh', '-c', 'echo up; while :; do sleep 1 & wait $!; done']
const spec = (hash: string, extra: Partial<PartSpec> = {}): PartSpec => ({ image: 'agent-image', env: {}, command: BOX, mounts: [], init: true, hash, ...extra })

let fake: FakeSmolvm
let agents = 0
const nextAgent = (): string => `unit-${++agents}`
const creates = (machine: string): string[][] => fake.calls().filter((argv) => argv[0] === 'machine' && argv[1] === 'create' && argv[3] === machine)
const machineRoot = (machine: string): string => join(fake.state, 'machines', machine, 'root')

beforeAll(() => {
  fake = fakeSmolvm()
})
afterAll(async () => {
  const driver = fake.driver()
  for (const agent of (await driver.observe()).map((a) => a.agent)) await driver.removeAgent(agent, { purgeWorkspace: true }).catch(() => undefined)
  fake.cleanup()
})

describe('machine create: the network is the bundle and nothing else', () => {
  it('with a running bundle: --net and exactly one --allow-cidr, the bundle\'s address /32', async () => {
    const driver = fake.driver()
    const agent = nextAgent()
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'sidecars', spec('s1', { image: 'bundle-image' }))
    await driver.createPart(agent, 'agent', spec('h1'))
    const made = creates(`bottle-${agent}-smolvm`)
    expect(made).toHaveLength(1)
    expect(made[0]).toEqual(['machine', 'create', '--name', `bottle-${agent}-smolvm`, '--from', expect.stringMatching(/\.smolmachine\.smolmachine$/), '--net', '--allow-cidr', '10.99.0.2/32'])
    // The bundle's names resolve to it in the guest, as they do on every runtime.
    expect(readFileSync(join(machineRoot(`bottle-${agent}-smolvm`), 'hosts'), 'utf8')).toContain(`10.99.0.2\t${BUNDLE_ALIASES.join(' ')}\n`)
  })

  it('without a bundle: no network at all; the bundle\'s arrival gets the box a machine that reaches it, still running', async () => {
    const driver = fake.driver()
    const agent = nextAgent()
    const machine = `bottle-${agent}-smolvm`
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'agent', spec('h1'))
    expect(creates(machine)).toHaveLength(1)
    expect(creates(machine)[0]).not.toContain('--net')
    expect(creates(machine)[0]).not.toContain('--allow-cidr')
    await driver.createPart(agent, 'sidecars', spec('s1'))
    expect(creates(machine)).toHaveLength(2)
    expect(creates(machine)[1]?.slice(-3)).toEqual(['--net', '--allow-cidr', '10.99.0.2/32'])
    expect((await driver.observe()).find((a) => a.agent === agent)?.parts.agent?.state).toBe('running')
  })

  it('a bundle that comes back elsewhere moves the allowlist with it; the same address changes nothing', async () => {
    const driver = fake.driver()
    const agent = nextAgent()
    const machine = `bottle-${agent}-smolvm`
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'sidecars', spec('s1'))
    await driver.createPart(agent, 'agent', spec('h1'))
    await driver.startPart(agent, 'sidecars')
    expect(creates(machine)).toHaveLength(1)
    fake.bundle.address = '10.99.0.7'
    try {
      await driver.createPart(agent, 'sidecars', spec('s2'))
    } finally {
      fake.bundle.address = '10.99.0.2'
    }
    expect(creates(machine)).toHaveLength(2)
    expect(creates(machine)[1]?.filter((w) => w.endsWith('/32'))).toEqual(['10.99.0.7/32'])
    expect(readFileSync(join(machineRoot(machine), 'hosts'), 'utf8')).toContain('10.99.0.7\t')
  })

  it('folders reach the machine as -v, the workspace from the Agent\'s own folder', async () => {
    const driver = fake.driver()
    const agent = nextAgent()
    const source = dirname(FAKE_SMOLVM)
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'agent', spec('h1', { mounts: [{ kind: 'workspace', target: '/workspace' }, { kind: 'bind', source, target: '/etc/bottle', readOnly: true }] }))
    const argv = creates(`bottle-${agent}-smolvm`)[0]!
    const volumes = argv.flatMap((word, i) => (argv[i - 1] === '-v' ? [word] : []))
    const workspace = (await driver.observe()).find((a) => a.agent === agent)?.workspace
    expect(volumes).toEqual([`${workspace}:/workspace`, `${source}:/etc/bottle:ro`])
  })
})

describe('a bundle published on the Agent\'s loopback address (Docker Desktop on macOS)', () => {
  const LOOPBACK = '127.0.0.16'

  it('the allowlist names the loopback address /32 and the guest\'s hosts file maps the bundle\'s names to it', async () => {
    const driver = fake.driver({ hasLoopbackAddress: (address) => address === LOOPBACK })
    const agent = nextAgent()
    const machine = `bottle-${agent}-smolvm`
    fake.bundle.loopback = LOOPBACK
    try {
      await driver.ensureInfrastructure(agent)
      await driver.createPart(agent, 'sidecars', spec('s1'))
      await driver.createPart(agent, 'agent', spec('h1'))
    } finally {
      fake.bundle.loopback = undefined
    }
    expect(creates(machine)).toHaveLength(1)
    expect(creates(machine)[0]?.slice(-3)).toEqual(['--net', '--allow-cidr', `${LOOPBACK}/32`])
    expect(creates(machine)[0]?.join(' ')).not.toContain('10.99.0.2')
    const hosts = readFileSync(join(machineRoot(machine), 'hosts'), 'utf8')
    expect(hosts).toContain(`${LOOPBACK}\t${BUNDLE_ALIASES.join(' ')}\n`)
    expect(hosts).not.toContain('10.99.0.2')
  })

  it('an alias missing on this host: the bundle is refused with the one line to fix it, and nothing is made', async () => {
    const driver = fake.driver({ hasLoopbackAddress: () => false })
    const agent = nextAgent()
    fake.bundle.loopback = LOOPBACK
    let error: unknown
    try {
      await driver.ensureInfrastructure(agent)
      error = await driver.createPart(agent, 'sidecars', spec('s1')).then(() => undefined, (e: unknown) => e)
    } finally {
      fake.bundle.loopback = undefined
    }
    expect(error).toBeInstanceOf(DriverError)
    expect((error as Error).message).toBe(`smolvm: create-part ${agent}: the bundle's loopback address ${LOOPBACK} is not on this host; add it once with: sudo ifconfig lo0 alias ${LOOPBACK}`)
    expect((await driver.observe()).find((a) => a.agent === agent)?.parts.sidecars).toBeUndefined()
  })

  it('an alias that goes missing after the bundle runs: the box is refused rather than booted without a way to its bundle', async () => {
    const agent = nextAgent()
    const machine = `bottle-${agent}-smolvm`
    let aliased = true
    const driver = fake.driver({ hasLoopbackAddress: () => aliased })
    fake.bundle.loopback = LOOPBACK
    let error: unknown
    try {
      await driver.ensureInfrastructure(agent)
      await driver.createPart(agent, 'sidecars', spec('s1'))
      aliased = false
      error = await driver.createPart(agent, 'agent', spec('h1')).then(() => undefined, (e: unknown) => e)
    } finally {
      fake.bundle.loopback = undefined
    }
    expect(error).toBeInstanceOf(DriverError)
    expect((error as Error).message).toContain(`sudo ifconfig lo0 alias ${LOOPBACK}`)
    expect(creates(machine)).toHaveLength(0)
    expect((await driver.observe()).find((a) => a.agent === agent)?.parts.agent).toBeUndefined()
  })
})

describe('secrets never go on a command line', () => {
  it('the part\'s and an exec\'s environment reach the guest through a file; no argv holds a value', async () => {
    const driver = fake.driver()
    const agent = nextAgent()
    const partSecret = 'sk-part-0123456789abcdef'
    const execSecret = 'exec-secret-fedcba9876543210'
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'agent', spec('h1', { env: { PART_TOKEN: partSecret } }))
    const result = await driver.exec(agent, 'agent', ['sh', '-c', 'printf "%s %s %s" "$PART_TOKEN" "$EXEC_TOKEN" "$IMAGE_SAYS"'], { env: { EXEC_TOKEN: execSecret } })
    expect(result).toEqual({ exitCode: 0, stdout: `${partSecret} ${execSecret} hello`, stderr: '' })
    const words = fake.calls().flat().join('\n')
    expect(words).not.toContain(partSecret)
    expect(words).not.toContain(execSecret)
    expect(fake.calls().some((argv) => argv.includes('-e'))).toBe(false)
    // The env files were read and removed in the guest, and none stayed on the host.
    expect(readFileSync(join(fake.state, 'calls.jsonl'), 'utf8')).toMatch(/"machine","cp",/)
    const leftovers = readdirSync(join(machineRoot(`bottle-${agent}-smolvm`), 'bottle-part')).filter((f) => f.startsWith('env-'))
    expect(leftovers).toEqual([])
  })
})

describe('available()', () => {
  it('says in one line that smolvm is missing and where to get it', async () => {
    const driver = fake.driver({ smolvm: { executable: 'smolvm', path: join(fake.state, 'empty-path') } })
    const answer = await driver.available()
    expect(answer).toEqual({ ok: false, reason: 'smolvm is not on PATH (install: https://smolmachines.com)' })
  })

  it('refuses with the setting\'s own one-line problem when the runtime is misconfigured', async () => {
    const driver = fake.driver({ smolvm: { executable: 'smolvm', path: dirname(FAKE_SMOLVM) }, misconfigured: 'BOTTLE_SMOLVM_BUNDLE_REACH must be "loopback" or "bridge", not "x"' })
    expect(await driver.available()).toEqual({ ok: false, reason: 'BOTTLE_SMOLVM_BUNDLE_REACH must be "loopback" or "bridge", not "x"' })
  })

  it('is ok with smolvm on PATH and the bundle\'s engine up, and says so when the engine is not', async () => {
    const onPath = fake.driver({ smolvm: { executable: 'smolvm', path: dirname(FAKE_SMOLVM) } })
    expect(await onPath.available()).toEqual({ ok: true })
    fake.bundle.availability = { ok: false, reason: 'no engine' }
    try {
      expect(await onPath.available()).toEqual({ ok: false, reason: 'the bundle\'s container engine is not available' })
    } finally {
      fake.bundle.availability = { ok: true }
    }
  })
})

describe('a machine that does not come up', () => {
  it('exec never ready: the part fails with the boot error, and no half-made part or machine stays', async () => {
    const driver = fake.driver({ readyTimeoutMs: 600 })
    const agent = nextAgent()
    await driver.ensureInfrastructure(agent)
    fake.knob('exec-not-ready', true)
    let error: unknown
    try {
      error = await driver.createPart(agent, 'agent', spec('h1')).then(() => undefined, (e: unknown) => e)
    } finally {
      fake.knob('exec-not-ready', false)
    }
    expect(error).toBeInstanceOf(DriverError)
    expect((error as Error).message).toContain('exec channel not ready after 0.6s — VM may have failed to boot.')
    expect((await driver.observe()).find((a) => a.agent === agent)?.parts.agent).toBeUndefined()
    expect((await fake.cli.machines()).map((m) => m.name)).not.toContain(`bottle-${agent}-smolvm`)
  })

  it('the readiness wait: exec true with backoff, then the old tool\'s message after 5 s', async () => {
    const driver = fake.driver()
    const agent = nextAgent()
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'agent', spec('h1'))
    const before = fake.calls().length
    fake.knob('exec-not-ready', true)
    const started = Date.now()
    let error: unknown
    try {
      error = await fake.cli.waitExecReady(`bottle-${agent}-smolvm`).then(() => undefined, (e: unknown) => e)
    } finally {
      fake.knob('exec-not-ready', false)
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000)
    expect(error).toBeInstanceOf(SmolvmError)
    expect((error as SmolvmError).message).toBe('exec channel not ready after 5s — VM may have failed to boot.')
    const polls = fake.calls().slice(before)
    expect(polls.length).toBeGreaterThanOrEqual(3)
    expect(polls.every((argv) => argv.join(' ') === `machine exec --name bottle-${agent}-smolvm -- true`)).toBe(true)
  }, 20_000)

  it('machine start fails: a DriverError with smolvm\'s own words, and nothing left behind', async () => {
    const driver = fake.driver()
    const agent = nextAgent()
    await driver.ensureInfrastructure(agent)
    fake.knob('fail-start', true)
    let error: unknown
    try {
      error = await driver.createPart(agent, 'agent', spec('h1')).then(() => undefined, (e: unknown) => e)
    } finally {
      fake.knob('fail-start', false)
    }
    expect(error).toBeInstanceOf(DriverError)
    expect((error as Error).message).toMatch(/machine start .*hypervisor refused to boot/)
    expect((await driver.observe()).find((a) => a.agent === agent)?.parts.agent).toBeUndefined()
  })
})

describe('adoption', () => {
  it('a new driver (a restarted controller) finds the box the first one made, and works it', async () => {
    const first = fake.driver()
    const agent = nextAgent()
    await first.ensureInfrastructure(agent)
    await first.createPart(agent, 'agent', spec('h1'))
    const made = (await first.observe()).find((a) => a.agent === agent)?.parts.agent
    const second = fake.driver()
    const seen = (await second.observe()).find((a) => a.agent === agent)
    expect(seen?.parts.agent).toMatchObject({ id: made?.id, state: 'running', hash: 'h1', name: `bottle-${agent}-smolvm` })
    expect((await second.exec(agent, 'agent', ['echo', 'adopted'])).stdout).toBe('adopted\n')
    const lines: string[] = []
    for await (const line of second.logs(agent, 'agent')) lines.push(line)
    expect(lines).toEqual(['up'])
    await second.stopPart(agent, 'agent')
    expect((await first.observe()).find((a) => a.agent === agent)?.parts.agent?.state).toBe('stopped')
  })

  it('names boxes of another instance apart', async () => {
    const driver = fake.driver({ instance: 'ci', stateDir: join(fake.state, 'driver-ci') })
    const agent = nextAgent()
    await driver.ensureInfrastructure(agent)
    await driver.createPart(agent, 'agent', spec('h1'))
    expect(creates(`bottle-ci-${agent}-smolvm`)).toHaveLength(1)
    await driver.removeAgent(agent, { purgeWorkspace: true })
    expect((await fake.cli.machines()).map((m) => m.name)).not.toContain(`bottle-ci-${agent}-smolvm`)
  })
})
