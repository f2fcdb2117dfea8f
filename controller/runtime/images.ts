/**
 * The image contract: which image a part runs, and making sure it exists.
 * Kept apart from the driver so a VM driver can turn the same images into
 * root filesystems.
 */

import type { ImageRequest } from '../plan/image-request.js'

export type { ImageRequest }

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
