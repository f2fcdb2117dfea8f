import { digest } from '../../spec/spec-hash.js'
import type { ImageRequest, ImageStore, ProgressListener } from '../images.js'

/** Images for unit tests: references are digests of the request; `ensure` records what it built. */
export class FakeImageStore implements ImageStore {
  readonly built: string[] = []
  /** Bump to simulate a changed build context (a new bundle): every reference changes. */
  generation = 0
  failNext: string | undefined

  async resolve(request: ImageRequest): Promise<string> {
    const name = request.kind === 'agent' ? `bottle-agent-${request.provider}` : request.kind === 'sidecars' ? 'bottle-sidecars' : request.kind === 'agent-ref' ? undefined : 'bottle-agent-custom'
    if (request.kind === 'agent-ref') return request.ref
    return `${name}:${digest({ request, generation: this.generation }, 12)}`
  }

  async ensure(request: ImageRequest, onProgress?: ProgressListener): Promise<string> {
    const ref = await this.resolve(request)
    if (this.failNext) {
      const message = this.failNext
      this.failNext = undefined
      throw new Error(message)
    }
    if (!this.built.includes(ref)) {
      onProgress?.(`Step 1/1 : building ${ref}`)
      this.built.push(ref)
    }
    return ref
  }
}
