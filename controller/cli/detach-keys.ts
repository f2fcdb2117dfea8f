/**
 * Spots the detach sequence in a raw keyboard stream, as docker does with
 * ctrl-p ctrl-q. Keys can arrive split across reads, so a partial match is
 * held back until the next byte decides it: either the sequence completes
 * (detach) or the held bytes go through unchanged, ahead of that byte.
 */

/** ctrl-p ctrl-q, docker's default. */
export const DEFAULT_DETACH_KEYS: readonly number[] = [0x10, 0x11]

export interface DetachScan {
  /** Bytes to pass on to the session now. */
  forward: Buffer
  /** The sequence completed; bytes typed after it in the same read are dropped. */
  detached: boolean
}

export class DetachKeyDetector {
  readonly #sequence: readonly number[]
  /** Bytes matching a prefix of the sequence, not yet passed on. */
  #held: number[] = []

  constructor(sequence: readonly number[] = DEFAULT_DETACH_KEYS) {
    if (sequence.length === 0) throw new Error('a detach sequence needs at least one key')
    this.#sequence = sequence
  }

  scan(chunk: Uint8Array): DetachScan {
    const forward: number[] = []
    for (const byte of chunk) {
      const candidate = [...this.#held, byte]
      // The longest tail of what was held plus this byte that could still start the sequence stays held.
      let keep = candidate.length
      while (keep > 0 && !this.#isPrefix(candidate.slice(candidate.length - keep))) keep -= 1
      forward.push(...candidate.slice(0, candidate.length - keep))
      this.#held = candidate.slice(candidate.length - keep)
      if (this.#held.length === this.#sequence.length) {
        this.#held = []
        return { forward: Buffer.from(forward), detached: true }
      }
    }
    return { forward: Buffer.from(forward), detached: false }
  }

  #isPrefix(bytes: number[]): boolean {
    return bytes.length <= this.#sequence.length && bytes.every((byte, index) => byte === this.#sequence[index])
  }
}
