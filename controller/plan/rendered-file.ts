/** A file the controller keeps on the host, relative to the Agent's state folder. */
export interface RenderedFile {
  path: string
  content: string
  mode: number
  /** Holds secret values: compared by digest, never printed, logged or diffed. */
  secret: boolean
  /** What a change of this file needs: a reload of the running bundle, or nothing (read at start). */
  onChange: 'reload-sidecars' | 'none'
}
