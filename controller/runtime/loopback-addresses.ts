/**
 * Per-Agent loopback addresses: where a bundle host publishes an Agent's
 * bundle ports when the engine's bridge addresses are not reachable from
 * this host (Docker Desktop on macOS keeps them inside its own VM). Every
 * Agent gets its own address so the bundles can all publish the same port
 * numbers (the guest dials `egress:8888` whatever its address is) and a
 * box's allowlist can name its own bundle and no other.
 *
 * The scheme: the lowest free address from 127.0.0.16 up to 127.0.0.254,
 * recorded in one file (0600) per state folder, keyed by instance and
 * Agent, so an Agent keeps its address across controller restarts and the
 * Agents of every instance sharing the state folder stay apart. 127.0.0.1
 * to 127.0.0.15 are left to the host's own uses. An address is given back
 * when its Agent is removed; the next Agent may take it. Writes are
 * serialised within one process; two controllers allocating at the same
 * instant could pick the same address, and the second bundle's publish
 * then fails with the engine's "address already in use".
 */
import { readFile } from 'node:fs/promises'
import type { NetworkInterfaceInfo } from 'node:os'
import { writeFileAtomic } from '../atomic-write.js'

export const FIRST_LOOPBACK_HOST = 16
export const LAST_LOOPBACK_HOST = 254

/** What a bundle host needs: the Agent's address (allocated on first ask), and giving it back. */
export interface LoopbackAddressBook {
  addressFor(agent: string): Promise<string>
  release(agent: string): Promise<void>
}

/** The lowest address of the range no other key holds; undefined when all are taken. Pure. */
export function freeLoopbackAddress(taken: Iterable<string>): string | undefined {
  const used = new Set(taken)
  for (let host = FIRST_LOOPBACK_HOST; host <= LAST_LOOPBACK_HOST; host += 1) {
    const address = `127.0.0.${host}`
    if (!used.has(address)) return address
  }
  return undefined
}

interface BookFile {
  /** `<instance>/<agent>` → address. */
  addresses: Record<string, string>
}

/** The address book in a file; `instance` keeps this controller's Agents apart from other instances' in the same file. */
export class FileLoopbackAddressBook implements LoopbackAddressBook {
  readonly #file: string
  readonly #instance: string
  /** One read-modify-write at a time in this process. */
  #queue: Promise<unknown> = Promise.resolve()

  constructor(options: { file: string; instance: string }) {
    this.#file = options.file
    this.#instance = options.instance
  }

  addressFor(agent: string): Promise<string> {
    return this.#serial(async () => {
      const book = await this.#read()
      const key = this.#key(agent)
      const known = book.addresses[key]
      if (known !== undefined) return known
      const address = freeLoopbackAddress(Object.values(book.addresses))
      if (address === undefined) {
        throw new Error(`no free loopback address left for Agent ${agent} (127.0.0.${FIRST_LOOPBACK_HOST}-127.0.0.${LAST_LOOPBACK_HOST} are all taken)`)
      }
      book.addresses[key] = address
      await this.#write(book)
      return address
    })
  }

  release(agent: string): Promise<void> {
    return this.#serial(async () => {
      const book = await this.#read()
      const key = this.#key(agent)
      if (!(key in book.addresses)) return
      delete book.addresses[key]
      await this.#write(book)
    })
  }

  #key(agent: string): string {
    return `${this.#instance}/${agent}`
  }

  #serial<T>(call: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(call, call)
    this.#queue = next.catch(() => undefined)
    return next
  }

  async #read(): Promise<BookFile> {
    let text: string
    try {
      text = await readFile(this.#file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { addresses: {} }
      throw error
    }
    const parsed = JSON.parse(text) as Partial<BookFile>
    const addresses: Record<string, string> = {}
    for (const [key, value] of Object.entries(parsed.addresses ?? {})) {
      if (typeof value === 'string' && isLoopbackAddress(value)) addresses[key] = value
    }
    return { addresses }
  }

  async #write(book: BookFile): Promise<void> {
    await writeFileAtomic(this.#file, `${JSON.stringify(book, null, 2)}\n`, 0o600)
  }
}

/** An IPv4 address in 127/8. */
export function isLoopbackAddress(address: string): boolean {
  const parts = address.split('.')
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
}

/**
 * Whether this host answers on `address` when it is a loopback address.
 * Linux routes all of 127/8 to its loopback interface; macOS answers only
 * on the addresses lo0 carries (127.0.0.1 unless the user adds an alias).
 * An address outside 127/8 is not this check's business: true.
 */
export function loopbackAddressPresent(address: string, platform: NodeJS.Platform, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): boolean {
  if (!isLoopbackAddress(address) || platform === 'linux') return true
  return Object.values(interfaces).some((infos) => (infos ?? []).some((info) => info.family === 'IPv4' && info.address === address))
}

/** The one line that tells the user what to do about a missing alias. */
export function missingLoopbackAliasReason(address: string): string {
  return `the bundle's loopback address ${address} is not on this host; add it once with: sudo ifconfig lo0 alias ${address}`
}
