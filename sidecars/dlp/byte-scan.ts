/**
 * The byte passes of a body scan, run by `byte-scan.wat`: keyword
 * occurrences, and runs of a byte class (for encoded runs and run-gated
 * patterns). One WebAssembly instance per process; a text is copied into
 * its memory a chunk at a time, so its memory stays a fixed size whatever
 * the body.
 *
 * Tables are memoized by content: the engine's memory only grows, and the
 * same keyword set and classes are asked for again on every config reload.
 */
import { Buffer } from 'node:buffer'
import { setFlagsFromString } from 'node:v8'
import { BYTE_SCAN_WASM_BASE64 } from './byte-scan-wasm.js'
import { currentScan } from './scan-arena.js'

/**
 * Below this many bytes, the character loops cost less than a call into the
 * module: each pass copies into its memory and makes views of it. Measured
 * on chat-style JSON bodies: the byte passes win from between 256 and 512
 * bytes up, and inside the proxy, a 64-byte body scans in 7 µs instead of
 * 10.5 µs without them.
 */
export const BYTE_PASSES_MIN_LENGTH = 512

/** Bytes of text per call into the module; runs and keyword starts cross chunks. */
const CHUNK = 65536
const IN = 0
/** After the input, room for lookahead and padding: up to 64 bytes for a keyword walk, or to round a last chunk to whole words. */
const STATE = CHUNK + 128
const OUT = STATE + 64
/** Two i32 per keyword hit or per run (keyword chunks are sized so their hits fit). */
const OUT_BYTES = CHUNK * 8
const TABLES = OUT + OUT_BYTES
const CLASS_BYTES = 32
const PAGE = 65536

/** The part of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: object }
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

interface ByteScanExports {
  memory: WasmMemory
  keywordHits(tables: number, trie: number, ends: number, input: number, n: number, out: number): number
  classRuns(cls: number, input: number, n: number, min: number, base: number, carry: number, out: number, state: number): number
}

interface Engine {
  exports: ByteScanExports
  /** Next free table address. */
  next: number
}

let engine: Engine | undefined

/**
 * The module compiled by V8's optimizing tier from the start. Left to the
 * baseline tier first, as V8 does by default, about half the processes
 * measured here ran both passes 1.6-2.2x slower for their whole life (a
 * 64 KiB body: 210 µs against 135 µs), although the optimized code had
 * been compiled; with it compiled up front, every process runs at the fast
 * speed. The flags are set back at once: they only decide how modules are
 * compiled, and this one is compiled once per process.
 */
function compileOptimized(bytes: Uint8Array): object {
  // Eagerly: compiled lazily, the functions would meet the baseline tier at their first call.
  setFlagsFromString('--no-liftoff --no-wasm-lazy-compilation')
  try {
    return new wasm.Module(bytes)
  } finally {
    setFlagsFromString('--liftoff --wasm-lazy-compilation')
  }
}

function instance(): Engine {
  if (!engine) {
    const module = compileOptimized(Buffer.from(BYTE_SCAN_WASM_BASE64, 'base64'))
    const exports = new wasm.Instance(module, {}).exports as ByteScanExports
    engine = { exports, next: TABLES }
    reserve(engine, 0)
  }
  return engine
}

/** Memory for `bytes` more bytes of tables; returns their address (64-byte aligned). */
function reserve(e: Engine, bytes: number): number {
  const address = e.next
  e.next = address + Math.ceil(bytes / 64) * 64
  const have = e.exports.memory.buffer.byteLength
  if (e.next > have) e.exports.memory.grow(Math.ceil((e.next - have) / PAGE))
  return address
}

function view(e: Engine): Uint8Array {
  return new Uint8Array(e.exports.memory.buffer)
}

/** A keyword trie as the module walks it. */
export interface KeywordTrie {
  /** Lower-case ASCII keywords, at least two characters long. */
  keywords: readonly string[]
  /** Symbol by byte (0: no keyword holds it). */
  symbolOfByte: Uint8Array
  /** Child row by row + symbol, rows being node * symbol count (0: no child). */
  children: Int32Array
  /** 1 by row for the nodes where a keyword ends. */
  ends: Uint8Array
}

/** A trie's tables in the module's memory. */
export interface KeywordTables {
  readonly tables: number
  readonly trie: number
  readonly ends: number
  /** Lookahead a walk may read past a chunk: the longest keyword. */
  readonly lookahead: number
  /** Text offsets per call, so a chunk's hits fit the output (a walk reports at most one hit per keyword on its path). */
  readonly chunk: number
}

const MAX_LOOKAHEAD = 64
const PAIR_IDS = 256
const PAIR_TABLES_BYTES = 256 + 65536 + PAIR_IDS * 4

/**
 * The trie's tables in the module's memory, or undefined when its keywords
 * begin with more than 255 distinct byte pairs (ids are bytes), or are
 * shorter than two or longer than 64 characters; callers then read every
 * byte themselves. Memoized by the keywords in order, which name the trie.
 */
export function keywordTables(trie: KeywordTrie): KeywordTables | undefined {
  const key = trie.keywords.join('\n')
  const known = keywordTablesByKey.get(key)
  if (known !== undefined) return known ?? undefined
  const lookahead = Math.max(...trie.keywords.map((k) => k.length))
  const symbols = Math.max(...trie.symbolOfByte) + 1
  const child = (row: number, c: number) => trie.children[row + (trie.symbolOfByte[c] as number)] as number
  // Pair ids by the row of the node each two-byte keyword prefix leads to.
  const rowOfId: number[] = [0]
  const idOfRow = new Map<number, number>()
  for (const k of trie.keywords) {
    const row = k.length >= 2 ? child(child(0, k.charCodeAt(0)), k.charCodeAt(1)) : 0
    if (row !== 0 && !idOfRow.has(row)) idOfRow.set(row, rowOfId.push(row) - 1)
  }
  if (rowOfId.length > PAIR_IDS || lookahead > MAX_LOOKAHEAD || trie.keywords.some((k) => k.length < 2) || symbols > 256) {
    keywordTablesByKey.set(key, null)
    return undefined
  }
  const e = instance()
  const tables = reserve(e, PAIR_TABLES_BYTES)
  const ends = reserve(e, trie.ends.length)
  const children = reserve(e, trie.children.byteLength)
  const memory = view(e)
  memory.set(trie.symbolOfByte, tables)
  for (let x = 1; x < 256; x++) {
    const first = child(0, x)
    if (first === 0) continue
    for (let y = 1; y < 256; y++) {
      const second = child(first, y)
      // The module reads a pair as a little-endian 16-bit load: the second byte is the high one.
      if (second !== 0) memory[tables + 256 + ((y << 8) | x)] = idOfRow.get(second) as number
    }
  }
  new Int32Array(e.exports.memory.buffer, tables + 256 + 65536, PAIR_IDS).set(rowOfId)
  memory.set(trie.ends, ends)
  memory.set(new Uint8Array(trie.children.buffer, trie.children.byteOffset, trie.children.byteLength), children)
  const hitsPerWalk = Math.max(...trie.keywords.map((k) => trie.keywords.filter((other) => k.startsWith(other)).length))
  const placed = { tables, trie: children, ends, lookahead, chunk: Math.min(CHUNK, Math.floor(OUT_BYTES / 8 / hitsPerWalk)) }
  keywordTablesByKey.set(key, placed)
  return placed
}
const keywordTablesByKey = new Map<string, KeywordTables | null>()

/**
 * Calls `onHit` with the offset of the last byte and the trie row of every
 * keyword occurrence in `bytes`, by start offset. `onHit` must not call
 * into this module.
 */
export function scanKeywordBytes(bytes: Uint8Array, t: KeywordTables, onHit: (end: number, row: number) => void): void {
  const e = instance()
  const n = bytes.length
  for (let base = 0; base < n; base += t.chunk) {
    const size = Math.min(t.chunk, n - base)
    const withLookahead = Math.min(size + t.lookahead, n - base)
    const memory = view(e)
    memory.set(bytes.subarray(base, base + withLookahead), IN)
    memory.fill(0, IN + withLookahead, IN + size + t.lookahead)
    const count = e.exports.keywordHits(t.tables, t.trie, t.ends, IN, size, OUT)
    if (count === 0) continue
    const hits = new Int32Array(e.exports.memory.buffer, OUT, count * 2)
    for (let k = 0; k < count; k++) onHit(base + (hits[2 * k] as number), hits[2 * k + 1] as number)
  }
}

/** A class of ASCII bytes, laid out for `classRuns`. */
export interface ByteClass {
  readonly address: number
}

/** The class of the bytes below 128 for which `member` holds (NUL never is: it pads the text). */
export function byteClass(member: (byte: number) => boolean): ByteClass {
  const lo = new Uint8Array(16)
  const hi = new Uint8Array(16)
  for (let h = 0; h < 8; h++) {
    hi[h] = 1 << h
    for (let l = 0; l < 16; l++) {
      const byte = (h << 4) | l
      if (byte !== 0 && member(byte)) lo[l] = (lo[l] as number) | (1 << h)
    }
  }
  const key = Buffer.from(lo).toString('hex')
  const known = classesByKey.get(key)
  if (known) return known
  const e = instance()
  const address = reserve(e, CLASS_BYTES)
  const memory = view(e)
  memory.set(lo, address)
  memory.set(hi, address + 16)
  const cls = { address }
  classesByKey.set(key, cls)
  return cls
}
const classesByKey = new Map<string, ByteClass>()

/**
 * Calls `onRun(start, end)` for each maximal run of at least `minLength`
 * (2..64) consecutive members of `cls` in `bytes`, in order; stops when
 * `onRun` returns true.
 */
export function classRuns(bytes: Uint8Array, cls: ByteClass, minLength: number, onRun: (start: number, end: number) => boolean | void): void {
  if (minLength < 2 || minLength > 64) throw new RangeError(`run length ${minLength} is outside 2..64`)
  const e = instance()
  const n = bytes.length
  let carry = -1
  for (let base = 0; base < n; base += CHUNK) {
    const size = Math.min(CHUNK, n - base)
    const memory = view(e)
    memory.set(bytes.subarray(base, base + size), IN)
    // Only the last chunk can end inside a word; its zero padding closes the runs still open.
    memory.fill(0, IN + size, IN + Math.ceil(size / 64) * 64)
    const count = e.exports.classRuns(cls.address, IN, size, minLength, base, carry, OUT, STATE)
    carry = new Int32Array(e.exports.memory.buffer, STATE, 1)[0] as number
    const runs = new Int32Array(e.exports.memory.buffer, OUT, count * 2)
    for (let k = 0; k < count; k++) if (onRun(runs[2 * k] as number, runs[2 * k + 1] as number) === true) return
  }
  if (carry >= 0 && n - carry >= minLength) onRun(carry, n)
}

/** The base64 and base64url alphabet. */
const ENCODING_CHARS = /[A-Za-z0-9+/_-]/
/** The shortest run of the encoding alphabet the engine decodes (`MIN_BASE64_RUN` reads it). */
export const MIN_ENCODING_RUN = 12
let encodingClass: ByteClass | undefined
const encodingRunsByView = new WeakMap<Uint8Array, { scan: number; runs: number[] }>()

/**
 * Every maximal run of at least MIN_ENCODING_RUN base64 or base64url
 * characters in `bytes`, as start and end offsets in turn. Several passes
 * ask about these runs or runs inside them (encoded runs to decode, the long
 * run a pattern without keywords needs), so during a scan the answer is
 * kept with the view and the class pass reads it once: a view is written
 * before it is read and is not reused within a scan (scan-arena.ts).
 */
export function encodingRuns(bytes: Uint8Array): readonly number[] {
  const scan = currentScan()
  const known = scan === 0 ? undefined : encodingRunsByView.get(bytes)
  if (known && known.scan === scan) return known.runs
  encodingClass ??= byteClass((c) => ENCODING_CHARS.test(String.fromCharCode(c)))
  const runs: number[] = []
  classRuns(bytes, encodingClass, MIN_ENCODING_RUN, (start, end) => {
    runs.push(start, end)
  })
  if (scan !== 0) encodingRunsByView.set(bytes, { scan, runs })
  return runs
}

/** Does every member of `member` (a table by byte below 128) belong to the encoding alphabet? */
export function withinEncodingChars(member: Uint8Array): boolean {
  for (let c = 0; c < 128; c++) if (member[c] === 1 && !ENCODING_CHARS.test(String.fromCharCode(c))) return false
  return true
}

/**
 * `classRuns` for input read through `member` (strings, or a class the
 * module cannot hold): each maximal run of at least `length` members in
 * `[start, end)`, in order, until `onRun` returns true. Probes every
 * `length`-th position: such a run holds a probe, and a probe outside the
 * class rules out every run through it, so input without long runs costs
 * (end - start) / length probes.
 */
export function probeRuns(start: number, end: number, length: number, member: (i: number) => boolean, onRun: (from: number, to: number) => boolean | void): void {
  let probe = start + length - 1
  while (probe < end) {
    if (!member(probe)) {
      probe += length
      continue
    }
    let from = probe
    while (from > start && member(from - 1)) from--
    let to = probe + 1
    while (to < end && member(to)) to++
    if (to - from >= length && onRun(from, to) === true) return
    probe = to + length
  }
}
