import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type Dockerode from 'dockerode'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../../../controller/runtime/docker/image-store.js'

const repoRoot = resolve(import.meta.dirname, '../../../../..')

/** An engine that only tells its architecture: resolve() may ask nothing else. */
function engine(arch: string): { docker: Dockerode; calls: string[] } {
  const calls: string[] = []
  const docker = new Proxy({} as Dockerode, {
    get: (_, name) => {
      calls.push(String(name))
      if (name === 'version') return async () => ({ Arch: arch })
      if (name === 'then') return undefined
      throw new Error(`resolve() called docker.${String(name)}`)
    },
  })
  return { docker, calls }
}

describe('DockerImageStore.resolve for provider images', () => {
  let root: string
  let pinsFile: string
  const store = (arch = 'amd64') => new DockerImageStore({ docker: engine(arch).docker, logger: pino({ level: 'silent' }), packageRoot: root, cacheDir: join(root, '.cache'), baseImage: 'base:1' })
  const editPins = (edit: (pins: { claude: { version: string; packages: { x64: { integrity: string } } } }) => void) => {
    const pins = JSON.parse(readFileSync(pinsFile, 'utf8')) as Parameters<typeof edit>[0]
    edit(pins)
    writeFileSync(pinsFile, JSON.stringify(pins))
  }

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bottle-image-store-'))
    for (const dir of ['images/agent', 'images/agent-claude', 'images/agent-codex']) cpSync(join(repoRoot, dir), join(root, dir), { recursive: true })
    pinsFile = join(root, 'images/provider-clis.json')
    cpSync(join(repoRoot, 'images/provider-clis.json'), pinsFile)
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  it('names the image with no CLI tarball on disk, asking the engine only its architecture, once', async () => {
    const { docker, calls } = engine('amd64')
    const images = new DockerImageStore({ docker, logger: pino({ level: 'silent' }), packageRoot: root, cacheDir: join(root, '.cache'), baseImage: 'base:1' })
    const claude = await images.resolve({ kind: 'agent', provider: 'claude' })
    expect(claude).toMatch(/^bottle-agent-claude:[0-9a-f]{12}$/)
    expect(await images.resolve({ kind: 'agent', provider: 'claude' })).toBe(claude)
    expect(await images.resolve({ kind: 'agent', provider: 'codex' })).toMatch(/^bottle-agent-codex:[0-9a-f]{12}$/)
    expect(calls).toEqual(['version'])
  })

  const changes = [
    { name: "the provider's package integrity", change: () => editPins((pins) => { pins.claude.packages.x64.integrity = `sha512-${'A'.repeat(86)}==` }) },
    { name: "the provider's CLI version", change: () => editPins((pins) => { pins.claude.version = '9.9.9' }) },
    { name: 'its Dockerfile', change: () => writeFileSync(join(root, 'images/agent-claude/Dockerfile'), '# edited\n', { flag: 'a' }) },
    { name: 'the shared setup script', change: () => writeFileSync(join(root, 'images/agent/setup-agent-box.sh'), '# edited\n', { flag: 'a' }) },
    { name: 'the entrypoint', change: () => writeFileSync(join(root, 'images/agent/bottle-agent-init'), '# edited\n', { flag: 'a' }) },
  ]
  it.each(changes)('retags on a change to $name', async ({ change }) => {
    const before = await store().resolve({ kind: 'agent', provider: 'claude' })
    change()
    expect(await store().resolve({ kind: 'agent', provider: 'claude' })).not.toBe(before)
  })

  it('keeps the tag when only another provider, the generic Dockerfile or the cached tarball changes', async () => {
    const before = await store().resolve({ kind: 'agent', provider: 'claude' })
    writeFileSync(join(root, 'images/agent-codex/Dockerfile'), '# edited\n', { flag: 'a' })
    writeFileSync(join(root, 'images/agent/Dockerfile'), '# edited\n', { flag: 'a' })
    cpSync(join(repoRoot, 'images/provider-clis.json'), join(root, '.cache/provider-clis/anthropic-ai-claude-code-linux-x64-2.1.330.tgz'))
    expect(await store().resolve({ kind: 'agent', provider: 'claude' })).toBe(before)
  })

  it('picks the package of the engine architecture', async () => {
    expect(await store('arm64').resolve({ kind: 'agent', provider: 'claude' })).not.toBe(await store('amd64').resolve({ kind: 'agent', provider: 'claude' }))
    await expect(store('s390x').resolve({ kind: 'agent', provider: 'codex' })).rejects.toThrow(
      /^docker: resolve-image bottle-agent-codex: no agent CLI is pinned for the engine's architecture s390x/,
    )
  })
})
