/**
 * Which image a part runs, as the plan asks for it; an ImageStore
 * (runtime/images.ts) turns a request into a reference on the engine.
 */
import type { ProviderName } from '../spec/effective-provider.js'

export type ImageRequest =
  /** The bundled agent image for a provider (images/agent). */
  | { kind: 'agent'; provider: ProviderName }
  /** A user's own Dockerfile (path relative to the spec repo, resolved to absolute by the caller). */
  | { kind: 'agent-dockerfile'; dockerfile: string }
  /** An image the user names; never built, only checked for. */
  | { kind: 'agent-ref'; ref: string }
  /** The sidecar bundle (images/sidecars). */
  | { kind: 'sidecars' }
