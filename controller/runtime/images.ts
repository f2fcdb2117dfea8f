/**
 * The image contract: which image a part runs, and making sure it exists.
 * Kept apart from the driver so a VM driver can turn the same images into
 * root filesystems.
 */

export type ImageRequest =
  /** The bundled agent image for a provider (images/agent). */
  | { kind: 'agent'; provider: 'claude' | 'codex' }
  /** A user's own Dockerfile (path relative to the spec repo, resolved to absolute by the caller). */
  | { kind: 'agent-dockerfile'; dockerfile: string }
  /** An image the user names; never built, only checked for. */
  | { kind: 'agent-ref'; ref: string }
  /** The sidecar bundle (images/sidecars). */
  | { kind: 'sidecars' }

export type ProgressListener = (line: string) => void

export interface ImageStore {
  /**
   * The reference the request builds to. Built images are tagged by a digest
   * of their inputs, so a changed Dockerfile or bundle yields a new reference
   * (and therefore a recreate) while an unchanged one is never rebuilt.
   * Cheap, and never changes the engine.
   */
  resolve(request: ImageRequest): Promise<string>

  /** Builds (or checks) the image when the engine lacks it; returns its reference. */
  ensure(request: ImageRequest, onProgress?: ProgressListener): Promise<string>
}
