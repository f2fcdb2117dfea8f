/**
 * The smolvm driver on the fake `smolvm` of fixtures/smolvm: a state folder
 * per test file, a bundle host played by the FakeDriver (with the address a
 * Docker bundle host would report), and a packer that packs through the
 * fake's `pack create`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import type { BundleHost } from '../../../../../controller/runtime/bundle-host.js'
import type { PartName } from '../../../../../controller/runtime/driver.js'
import { FakeDriver } from '../../../../../controller/runtime/fake/fake-driver.js'
import type { ImagePacker, PackedImage } from '../../../../../controller/runtime/smolvm/image-pack.js'
import { SmolvmCli } from '../../../../../controller/runtime/smolvm/smolvm-cli.js'
import { SmolvmDriver, type SmolvmDriverOptions } from '../../../../../controller/runtime/smolvm/smolvm-driver.js'

export const FAKE_SMOLVM = join(import.meta.dirname, '../../../../../fixtures/smolvm/smolvm')

/** Relative guest paths: the fake resolves them inside each machine's folder. */
export const FAKE_GUEST_PATHS = { partDir: 'bottle-part', hostsFile: 'hosts' }

/**
 * A bundle host whose running bundle is at `address` (a Docker bundle host
 * reports the container's bridge address), or, with `loopback` set, one
 * that publishes every Agent's bundle on that loopback address.
 */
export class FakeBundleHost extends FakeDriver implements BundleHost {
  address = '10.99.0.2'
  loopback: string | undefined

  async hostReachableAddress(agent: string, part: PartName): Promise<string | undefined> {
    const found = (await this.observe()).find((a) => a.agent === agent)
    return found?.parts[part]?.state === 'running' ? (this.loopback ?? this.address) : undefined
  }

  async loopbackAddress(_agent: string): Promise<string | undefined> {
    return this.loopback
  }
}

/** Packs through the fake's `pack create`; every image runs `sh` unless the part names a command. */
export class FakePacker implements ImagePacker {
  readonly packed: string[] = []
  constructor(
    private readonly cli: SmolvmCli,
    private readonly dir: string,
  ) {}

  async pack(image: string): Promise<PackedImage> {
    const out = join(this.dir, `${image.replace(/[^a-z0-9]/gi, '-')}.smolmachine`)
    await this.cli.checked(['pack', 'create', '--image', image, '-o', out])
    this.packed.push(image)
    return { artifact: `${out}.smolmachine`, config: { env: { IMAGE_SAYS: 'hello' }, entrypoint: [], cmd: ['sh'] } }
  }
}

export interface FakeSmolvm {
  state: string
  bundle: FakeBundleHost
  cli: SmolvmCli
  driver(overrides?: Partial<SmolvmDriverOptions>): SmolvmDriver
  /** Every argv the fake was called with, in order. */
  calls(): string[][]
  /** Turns a failure knob of the fake on or off. */
  knob(name: 'fail-start' | 'exec-not-ready', on: boolean): void
  cleanup(): void
}

export function fakeSmolvm(): FakeSmolvm {
  const state = mkdtempSync(join(tmpdir(), 'fake-smolvm-'))
  // The driver runs the fake with this process's environment; one state folder per test file (each file has its own process).
  process.env.FAKE_SMOLVM_STATE = state
  const cli = new SmolvmCli({ executable: FAKE_SMOLVM })
  const bundle = new FakeBundleHost()
  const stateDir = join(state, 'driver')
  const packer = new FakePacker(cli, state)
  return {
    state,
    bundle,
    cli,
    driver: (overrides = {}) =>
      new SmolvmDriver({
        bundleHost: bundle,
        packer,
        instance: 'default',
        stateDir,
        logger: pino({ level: 'silent' }),
        smolvm: { executable: FAKE_SMOLVM },
        guestPaths: FAKE_GUEST_PATHS,
        stopTimeoutMs: 3000,
        pollMs: 200,
        ...overrides,
      }),
    calls: () => {
      const text = (() => {
        try {
          return readFileSync(join(state, 'calls.jsonl'), 'utf8')
        } catch {
          return ''
        }
      })()
      return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as string[])
    },
    knob: (name, on) => {
      if (on) writeFileSync(join(state, name), '')
      else rmSync(join(state, name), { force: true })
    },
    cleanup: () => rmSync(state, { recursive: true, force: true }),
  }
}
