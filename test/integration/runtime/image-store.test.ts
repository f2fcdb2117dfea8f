import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { buildTestImages, docker, testLogger, type TestImages } from './docker-fixtures.js'

let images: TestImages
let store: DockerImageStore
let work: string
const builtTags: string[] = []

function userContext(name: string, files: Record<string, string>): string {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content)
  return join(dir, 'Dockerfile')
}

async function readFromImage(ref: string, path: string): Promise<string> {
  const container = await docker.createContainer({ Image: ref, Entrypoint: ['cat'], Cmd: [path] })
  try {
    await container.start()
    await container.wait()
    const output = await container.logs({ stdout: true, stderr: true, follow: false })
    // Drop the 8-byte multiplexing header of each frame.
    let text = ''
    for (let offset = 0; offset + 8 <= output.length; ) {
      const size = output.readUInt32BE(offset + 4)
      text += output.subarray(offset + 8, offset + 8 + size).toString()
      offset += 8 + size
    }
    return text
  } finally {
    await container.remove({ force: true })
  }
}

beforeAll(async () => {
  // Also makes sure the base exists, so the tests below measure only their own builds.
  images = await buildTestImages()
  store = new DockerImageStore({ docker, logger: testLogger() })
  work = mkdtempSync(join(tmpdir(), 'bottle-image-store-'))
})

afterAll(async () => {
  for (const tag of builtTags) await docker.getImage(tag).remove({ force: true }).catch(() => undefined)
  await images?.cleanup()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('DockerImageStore on a real engine', () => {
  it('names images by their inputs without touching the engine', async () => {
    const before = (await docker.listImages()).length
    const claude = await store.resolve({ kind: 'agent', provider: 'claude' })
    const codex = await store.resolve({ kind: 'agent', provider: 'codex' })
    expect(claude).toMatch(/^bottle-agent-claude:[0-9a-f]{12}$/)
    expect(codex).toMatch(/^bottle-agent-codex:[0-9a-f]{12}$/)
    expect(await store.resolve({ kind: 'agent', provider: 'claude' })).toBe(claude)
    expect(await store.resolve({ kind: 'agent-ref', ref: 'example/agent:1' })).toBe('example/agent:1')
    expect((await docker.listImages()).length).toBe(before)
  })

  it('never rebuilds an image whose inputs are unchanged', async () => {
    const progress: string[] = []
    const ref = await store.ensure({ kind: 'agent', provider: 'claude' }, (line) => progress.push(line))
    expect(ref).toBe(images.agent)
    expect(progress).toEqual([])
  })

  it('builds a user Dockerfile from its folder, honouring .dockerignore, and retags when an input changes', async () => {
    const dockerfile = userContext('custom', {
      Dockerfile: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /context/\n',
      'hello.txt': 'hello v1\n',
      'notes.md': 'ignored\n',
      '.dockerignore': 'notes.md\n',
    })
    const progress: string[] = []
    const first = await store.ensure({ kind: 'agent-dockerfile', dockerfile }, (line) => progress.push(line))
    builtTags.push(first)
    expect(first).toMatch(/^bottle-agent-custom:[0-9a-f]{12}$/)
    expect(progress.some((line) => /Step 3\/\d+ : COPY \. \/context\/$/.test(line))).toBe(true)
    expect(progress.at(-1)).toMatch(/built in \d+s$/)
    expect(await readFromImage(first, '/context/hello.txt')).toBe('hello v1\n')
    expect(await readFromImage(first, '/context/notes.md')).toMatch(/No such file/)

    writeFileSync(join(work, 'custom', 'notes.md'), 'still ignored\n')
    expect(await store.resolve({ kind: 'agent-dockerfile', dockerfile })).toBe(first)
    writeFileSync(join(work, 'custom', 'hello.txt'), 'hello v2\n')
    expect(await store.resolve({ kind: 'agent-dockerfile', dockerfile })).not.toBe(first)
  })

  it('turns a failing build into one line naming the step', async () => {
    const dockerfile = userContext('broken', { Dockerfile: 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo about to fail && false\n' })
    const ref = await store.resolve({ kind: 'agent-dockerfile', dockerfile })
    builtTags.push(ref)
    const error = (await store.ensure({ kind: 'agent-dockerfile', dockerfile }).catch((thrown: unknown) => thrown)) as Error
    expect(error.name).toBe('DriverError')
    expect(error.message).toMatch(/^docker: build-image bottle-agent-custom:[0-9a-f]{12}: Step 3\/\d+ : RUN echo about to fail && false: .*returned a non-zero code: 1$/)
    expect(error.message).not.toContain('\n')
  })

  const refusals = [
    {
      name: 'a named image the engine lacks',
      request: { kind: 'agent-ref' as const, ref: 'bottle-test/absent:never' },
      error: /^docker: ensure-image bottle-test\/absent:never: image not present on the engine; .*docker pull bottle-test\/absent:never/,
    },
    {
      name: 'a Dockerfile that does not exist',
      request: { kind: 'agent-dockerfile' as const, dockerfile: '/nonexistent/Dockerfile' },
      error: /^docker: resolve-image \/nonexistent\/Dockerfile: Dockerfile not found$/,
    },
  ]
  it.each(refusals)('refuses $name with a clear message', async ({ request, error }) => {
    await expect(store.ensure(request)).rejects.toThrow(error)
  })

  it('accepts a named image the engine has, and says how to get sidecar bundles when they are missing', async () => {
    const base = await store.ensureBase()
    expect(await store.ensure({ kind: 'agent-ref', ref: base })).toBe(base)
    const bare = new DockerImageStore({ docker, logger: testLogger(), bundleDir: join(work, 'no-bundles') })
    await expect(bare.resolve({ kind: 'sidecars' })).rejects.toThrow(/no sidecar bundles in .*no-bundles .*run "npm run build" first/)
  })
})
