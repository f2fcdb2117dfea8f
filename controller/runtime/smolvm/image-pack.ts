/**
 * An agent image as smolvm boots it: `smolvm pack create` turns an OCI image
 * into a `.smolmachine` artifact, but takes only registry references, and
 * the agent images are built on the local Docker engine and never pushed
 * anywhere. So, once per image id: a throwaway registry container on host
 * loopback, the image tagged and pushed there, packed, and the registry
 * removed. The artifact is cached by image id; a rebuilt image packs anew.
 *
 * This is the one place that knows how an image becomes an artifact; the
 * driver asks `ImagePacker.pack` and nothing else.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import type Dockerode from 'dockerode'
import { imageRunConfig, type ImageRunConfig } from '../guest-part.js'
import type { SmolvmCli } from './smolvm-cli.js'

export interface PackedImage {
  /** What `machine create --from` takes. */
  artifact: string
  /** How the image runs, as `docker run` would read its config. */
  config: ImageRunConfig
}

export interface ImagePacker {
  pack(image: string): Promise<PackedImage>
}

/**
 * registry:2.8.3 by digest, the image the older tool used. Override with
 * BOTTLE_SMOLVM_REGISTRY_IMAGE (for instance a mirror's copy).
 */
export const DEFAULT_REGISTRY_IMAGE = 'registry@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373'
const READY_TIMEOUT_MS = 10_000

export interface RegistryImagePackerOptions {
  docker: Dockerode
  smolvm: SmolvmCli
  /** Where artifacts are kept, one pair of files per image id. */
  cacheDir: string
  registryImage?: string
}

/** The artifact path of an image id's pack; `pack create -o <out>` writes `<out>` and this. */
export function artifactPath(cacheDir: string, imageId: string): { out: string; artifact: string } {
  const key = imageId.replace(/^sha256:/, '').slice(0, 16)
  if (!/^[0-9a-f]{16}$/.test(key)) throw new RangeError(`image id ${JSON.stringify(imageId)} is not a sha256 digest`)
  const out = join(cacheDir, `${key}.smolmachine`)
  return { out, artifact: `${out}.smolmachine` }
}

export class RegistryImagePacker implements ImagePacker {
  readonly #options: RegistryImagePackerOptions
  readonly #packing = new Map<string, Promise<string>>()

  constructor(options: RegistryImagePackerOptions) {
    this.#options = options
  }

  async pack(image: string): Promise<PackedImage> {
    const info = await this.#options.docker.getImage(image).inspect()
    const config = imageRunConfig(info.Config)
    const { out, artifact } = artifactPath(this.#options.cacheDir, info.Id)
    if (existsSync(artifact)) return { artifact, config }
    // One pack per image at a time: two Agents on one new image share it.
    let packing = this.#packing.get(artifact)
    if (!packing) {
      packing = this.#packOnce(info.Id, out, artifact).finally(() => this.#packing.delete(artifact))
      this.#packing.set(artifact, packing)
    }
    return { artifact: await packing, config }
  }

  async #packOnce(imageId: string, out: string, artifact: string): Promise<string> {
    const { docker, smolvm, cacheDir } = this.#options
    await mkdir(cacheDir, { recursive: true, mode: 0o700 })
    const registry = await docker.createContainer({
      Image: this.#options.registryImage ?? process.env.BOTTLE_SMOLVM_REGISTRY_IMAGE ?? DEFAULT_REGISTRY_IMAGE,
      name: `bottle-smolvm-registry-${randomBytes(6).toString('hex')}`,
      Labels: { 'bottle.dev/smolvm-pack': imageId.replace(/^sha256:/, '').slice(0, 12) },
      HostConfig: { AutoRemove: true, PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
      ExposedPorts: { '5000/tcp': {} },
    })
    const tempOut = `${out}.${randomBytes(4).toString('hex')}.tmp`
    try {
      await registry.start()
      const port = (await registry.inspect()).NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort
      if (!port) throw new Error('the pack registry got no port on 127.0.0.1')
      await waitForPort(Number(port), READY_TIMEOUT_MS)
      const key = imageId.replace(/^sha256:/, '').slice(0, 16)
      const repo = `localhost:${port}/bottle-agent`
      await docker.getImage(imageId).tag({ repo, tag: key })
      const pushed = await docker.getImage(`${repo}:${key}`).push({})
      await followPush(docker, pushed)
      await smolvm.checked(['pack', 'create', '--image', `${repo}:${key}`, '-o', tempOut])
      await rename(`${tempOut}.smolmachine`, artifact)
      await rename(tempOut, out)
      await docker.getImage(`${repo}:${key}`).remove({ noprune: true }).catch(() => undefined)
      return artifact
    } finally {
      await registry.remove({ force: true }).catch(() => undefined)
      await Promise.all([rm(tempOut, { force: true }), rm(`${tempOut}.smolmachine`, { force: true })])
    }
  }
}

/** Waits for a push to end, failing on the first error the engine reports in its progress. */
function followPush(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => {
      const failed = error ?? (output.find((o) => o.error)?.error ? new Error(output.find((o) => o.error)!.error) : null)
      if (failed) reject(failed)
      else resolve()
    })
  })
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no attempt'
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, timeout: 500 })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', (error) => {
        last = error.message
        resolve(false)
      })
      socket.once('timeout', () => {
        last = 'timeout'
        socket.destroy()
        resolve(false)
      })
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`the pack registry on 127.0.0.1:${port} did not accept connections within ${timeoutMs / 1000}s (last error: ${last})`)
}
