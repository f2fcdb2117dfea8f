import { dirname, resolve } from 'node:path'
import type { ImageRequest } from './image-request.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { agentProvider } from './providers.js'

/**
 * The images an Agent's parts run: its Bottle's Dockerfile (relative to the
 * Bottle's file in the spec repo at `specRoot`) or named image, else the
 * bundled image of its CLI; and the sidecar bundle.
 */
export function agentImageRequests(agent: ResolvedAgent, specRoot: string): { agent: ImageRequest; sidecars: ImageRequest } {
  const image = agent.bottle.spec.image
  // The Bottle's image.provider picks the bundled image; without one, the image of the Agent's CLI.
  let request: ImageRequest = image?.provider ? { kind: 'agent', provider: image.provider } : agentProvider(agent).image
  if (image?.dockerfile) request = { kind: 'agent-dockerfile', dockerfile: resolve(specRoot, dirname(agent.bottle.file), image.dockerfile) }
  else if (image?.ref) request = { kind: 'agent-ref', ref: image.ref }
  return { agent: request, sidecars: { kind: 'sidecars' } }
}
