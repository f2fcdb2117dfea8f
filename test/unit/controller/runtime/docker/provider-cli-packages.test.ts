import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  cliArch,
  ensurePinnedTarball,
  fileIntegrity,
  npmPack,
  pinDigest,
  readProviderCliPin,
  tarballName,
  tarballPath,
  type PackageFetcher,
  type PackagePin,
} from '../../../../../controller/runtime/docker/provider-cli-packages.js'

const repoRoot = resolve(import.meta.dirname, '../../../../..')

let work: string
/** A real npm tarball, packed from a local folder: the stand-in for the registry's. */
let tarball: string
let pin: PackagePin

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bottle-cli-packages-'))
  const source = join(work, 'source')
  mkdirSync(source)
  writeFileSync(join(source, 'package.json'), JSON.stringify({ name: '@bottle-test/fake-cli', version: '1.2.3', bin: { 'fake-cli': 'fake-cli' } }))
  writeFileSync(join(source, 'fake-cli'), '#!/bin/sh\necho "1.2.3 (Fake CLI)"\n', { mode: 0o755 })
  const packed = join(work, 'packed')
  mkdirSync(packed)
  tarball = await npmPack(source, packed)
  pin = { name: '@bottle-test/fake-cli', version: '1.2.3', integrity: await fileIntegrity(tarball) }
})

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('npmPack', () => {
  it('leaves the package tarball, named as the cache names it', () => {
    expect(tarball.endsWith(`/${tarballName({ name: '@bottle-test/fake-cli', version: '1.2.3', integrity: '' })}`)).toBe(true)
    expect(pin.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/)
  })

  it('fails with npm reason on one line', async () => {
    const destination = mkdtempSync(join(work, 'fail-'))
    const error = (await npmPack(join(work, 'no-such-package'), destination).catch((thrown: unknown) => thrown)) as Error
    expect(error.message).toMatch(/^npm pack \S+no-such-package failed: npm error enoent .*package\.json/)
    expect(error.message).not.toContain('\n')
  })
})

describe('ensurePinnedTarball', () => {
  let cacheDir: string
  let fetches: string[]
  let progress: string[]
  /** Serves `bytes` (the good tarball by default) the way npm pack would. */
  const fetcher =
    (bytes?: Buffer): PackageFetcher =>
    async (spec, destination) => {
      fetches.push(spec)
      const target = join(destination, 'fetched.tgz')
      if (bytes === undefined) copyFileSync(tarball, target)
      else writeFileSync(target, bytes)
      return target
    }
  const ensure = (fetch: PackageFetcher, which: PackagePin = pin) =>
    ensurePinnedTarball(which, { cacheDir, fetch, onProgress: (line) => progress.push(line) })

  beforeEach(() => {
    cacheDir = mkdtempSync(join(work, 'cache-'))
    fetches = []
    progress = []
  })

  it('downloads a missing tarball once, then uses the cached one', async () => {
    const path = await ensure(fetcher())
    expect(path).toBe(join(cacheDir, 'provider-clis', 'bottle-test-fake-cli-1.2.3.tgz'))
    expect(readFileSync(path).equals(readFileSync(tarball))).toBe(true)
    expect(fetches).toEqual(['@bottle-test/fake-cli@1.2.3'])
    expect(progress).toEqual([
      '@bottle-test/fake-cli@1.2.3: downloading from the npm registry',
      expect.stringMatching(/^@bottle-test\/fake-cli@1\.2\.3: downloaded 0 MB in \d+s, sha512 matches the pin$/),
    ])
    // Nothing but the verified tarball stays behind.
    expect(readdirSync(join(cacheDir, 'provider-clis'))).toEqual(['bottle-test-fake-cli-1.2.3.tgz'])

    progress = []
    expect(await ensure(fetcher())).toBe(path)
    expect(fetches).toHaveLength(1)
    expect(progress).toEqual(['@bottle-test/fake-cli@1.2.3: using the cached tarball (0 MB, sha512 matches the pin)'])
  })

  it('rejects a downloaded tarball that does not match the pin, on one line, and keeps nothing', async () => {
    const corrupt = Buffer.from(readFileSync(tarball))
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 0xff
    const corruptFile = join(work, 'corrupt.tgz')
    writeFileSync(corruptFile, corrupt)
    const error = (await ensure(fetcher(corrupt)).catch((thrown: unknown) => thrown)) as Error
    expect(error.message).toBe(
      `@bottle-test/fake-cli@1.2.3: the downloaded tarball's sha512 does not match the pin in images/provider-clis.json (expected ${pin.integrity}, got ${await fileIntegrity(corruptFile)}); it was deleted`,
    )
    expect(readdirSync(join(cacheDir, 'provider-clis'))).toEqual([])
  })

  it('rejects the registry tarball when the pin says other bytes', async () => {
    const wrongPin = { ...pin, integrity: `sha512-${Buffer.alloc(64, 7).toString('base64')}` }
    await expect(ensure(fetcher(), wrongPin)).rejects.toThrow(/^@bottle-test\/fake-cli@1\.2\.3: the downloaded tarball's sha512 does not match the pin .*expected sha512-BwcH/)
    expect(existsSync(tarballPath(cacheDir, pin))).toBe(false)
  })

  it('discards a cached tarball that does not match and fetches it again', async () => {
    mkdirSync(join(cacheDir, 'provider-clis'))
    writeFileSync(tarballPath(cacheDir, pin), 'truncated')
    const path = await ensure(fetcher())
    expect(readFileSync(path).equals(readFileSync(tarball))).toBe(true)
    expect(fetches).toHaveLength(1)
    expect(progress[0]).toMatch(/^@bottle-test\/fake-cli@1\.2\.3: the cached tarball's sha512 does not match the pin .*; it was deleted$/)
  })
})

describe('the pins in images/provider-clis.json', () => {
  it.each(['claude', 'codex'] as const)('pin %s exactly, per architecture, with the registry sha512', async (provider) => {
    const pins = await readProviderCliPin(repoRoot, provider)
    expect(pins.version).toMatch(/^\d+\.\d+\.\d+$/)
    for (const arch of ['x64', 'arm64'] as const) {
      const entry = pins.packages[arch]
      expect(entry.version.startsWith(pins.version)).toBe(true)
      expect(`${entry.name}@${entry.version}`).toContain(`linux-${arch}`)
      expect(entry.integrity).toMatch(/^sha512-/)
    }
    expect(pins.packages.x64.integrity).not.toBe(pins.packages.arm64.integrity)
  })

  it('says which field of a broken pin file is wrong', async () => {
    const root = mkdtempSync(join(work, 'root-'))
    mkdirSync(join(root, 'images'))
    const pins = JSON.parse(readFileSync(join(repoRoot, 'images/provider-clis.json'), 'utf8')) as { codex: { packages: { arm64: { integrity: string } } } }
    pins.codex.packages.arm64.integrity = 'sha1-abc'
    writeFileSync(join(root, 'images/provider-clis.json'), JSON.stringify(pins))
    await expect(readProviderCliPin(root, 'claude')).rejects.toThrow(/^invalid CLI pins in \S+provider-clis\.json: codex\.packages\.arm64\.integrity: a sha512 integrity/)
  })

  it('names the image input by the pin: another integrity is another digest', () => {
    expect(pinDigest(pin)).toBe(`npm:@bottle-test/fake-cli@1.2.3:${pin.integrity}`)
    expect(pinDigest({ ...pin, integrity: 'sha512-other' })).not.toBe(pinDigest(pin))
  })
})

describe('cliArch', () => {
  it.each([
    ['amd64', 'x64'],
    ['x86_64', 'x64'],
    ['arm64', 'arm64'],
    ['aarch64', 'arm64'],
  ])('reads the engine architecture %s as %s', (engine, npm) => {
    expect(cliArch(engine)).toBe(npm)
  })

  it('refuses an architecture no CLI is pinned for', () => {
    expect(() => cliArch('s390x')).toThrow(/no agent CLI is pinned for the engine's architecture s390x/)
  })
})
