/**
 * Aho-Corasick over lower-cased keywords: one pass over a text, one table
 * lookup per character, finding every keyword occurrence (overlapping ones
 * included). A regex alternation of ~170 literals costs irregexp a trial per
 * alternative at many positions; this costs the same per character however
 * many keywords there are.
 *
 * Matching is case-insensitive for every keyword. For a case-sensitive
 * pattern that only means its regex also runs when the keyword appears in
 * another case, which the regex then rejects.
 *
 * The text may also be given as bytes (ASCII, or UTF-8, where every byte of
 * a multi-byte character is >= 128): no keyword holds such a byte, and a run
 * of them leads back to the root exactly as one non-ASCII character does, so
 * the keywords found are the same. Over bytes the search runs in
 * WebAssembly (`byte-scan.ts`): it walks the keyword trie only from offsets
 * whose byte pair begins a keyword, about one in seven in prose (the
 * automaton, once off its root, rarely returns to it in prose, since most
 * letters begin some keyword).
 */

import { keywordTables, scanKeywordBytes, type KeywordTables, type KeywordTrie } from './byte-scan.js'

export interface KeywordAutomaton {
  /**
   * Calls `hit` with the owner ids of every keyword found in `text`, at most
   * once per automaton state per call. When `starts` is given, it also
   * receives the start offset of every occurrence of a keyword of each
   * tracked owner (see `compileKeywordAutomaton`), in order of the
   * occurrence's end; offsets are the same for a string and its bytes only
   * when the text is ASCII.
   */
  scan(text: string | Uint8Array, hit: (owners: readonly number[]) => void, starts?: (owner: number, start: number) => void): void
}

/**
 * @param keywords keyword -> ids of its owners (pattern indexes)
 * @param tracked owners whose every keyword occurrence `scan` reports to `starts`
 */
export function compileKeywordAutomaton(keywords: ReadonlyMap<string, readonly number[]>, tracked: ReadonlySet<number> = new Set()): KeywordAutomaton {
  // Symbol 0 is "any character no keyword uses"; it always leads back to the root.
  const symbolOf = new Uint8Array(128)
  let symbols = 1
  for (const keyword of keywords.keys()) {
    for (const ch of keyword.toLowerCase()) {
      const c = ch.charCodeAt(0)
      if (c >= 128) throw new Error(`keyword ${JSON.stringify(keyword)} is not ASCII`)
      if (symbolOf[c] === 0) symbolOf[c] = symbols++
    }
  }
  for (let c = 65; c <= 90; c++) symbolOf[c] = symbolOf[c + 32] as number
  // For bytes: every code has an entry (128-255 are symbol 0), so the byte loop needs no range check.
  const symbolOfByte = new Uint8Array(256)
  symbolOfByte.set(symbolOf)
  // At the root, a byte that starts no keyword occurrence leads back to the root, so the byte loop can
  // skip it with table loads instead of a step through the transition table. A byte is skipped when the
  // pair it starts begins no keyword, or begins one only as a proper prefix and the next byte does not
  // continue any (no keyword is one character long; checked below). In prose that is most bytes.
  // pairId: case-folded byte pair -> 1-based id of the pairs that begin a keyword (0: none).
  const lower = [...keywords.keys()].map((k) => k.toLowerCase())
  const skipAtRoot = lower.every((k) => k.length >= 2)
  const pairId = new Uint16Array(65536)
  const pairs: string[] = []
  const variants = (c: number) => (c >= 97 && c <= 122 ? [c, c - 32] : [c])
  for (const k of lower) {
    const pair = k.slice(0, 2)
    if (pairs.includes(pair)) continue
    pairs.push(pair)
    for (const x of variants(pair.charCodeAt(0))) for (const y of variants(pair.charCodeAt(1))) pairId[(x << 8) | y] = pairs.length
  }
  const pairIsKeyword = new Uint8Array(pairs.length + 1)
  const continues = new Uint8Array((pairs.length + 1) * 256)
  for (const k of lower) {
    const id = pairs.indexOf(k.slice(0, 2)) + 1
    if (k.length === 2) pairIsKeyword[id] = 1
    else for (const z of variants(k.charCodeAt(2))) continues[id * 256 + z] = 1
  }

  // Trie.
  const children: Map<number, number>[] = [new Map()]
  const owners: Set<number>[] = [new Set()]
  /** Per node: [owner, keyword length] of the tracked keywords ending there. */
  const ends: [number, number][][] = [[]]
  for (const [keyword, ids] of keywords) {
    let node = 0
    for (const ch of keyword.toLowerCase()) {
      const sym = symbolOf[ch.charCodeAt(0)] as number
      let next = (children[node] as Map<number, number>).get(sym)
      if (next === undefined) {
        next = children.length
        children.push(new Map())
        owners.push(new Set())
        ends.push([])
        ;(children[node] as Map<number, number>).set(sym, next)
      }
      node = next
    }
    for (const id of ids) {
      ;(owners[node] as Set<number>).add(id)
      if (tracked.has(id)) (ends[node] as [number, number][]).push([id, keyword.length])
    }
  }

  // The trie itself, for byte scans: the keywords ending exactly at each node, and child rows.
  const ownOutput: (readonly number[] | undefined)[] = owners.map((set) => (set.size > 0 ? [...set] : undefined))
  const ownEnds: (readonly (readonly [number, number])[] | undefined)[] = ends.map((list) => (list.length > 0 ? [...list] : undefined))

  // Failure links by BFS, folded into a full transition table (a DFA).
  const states = children.length
  const delta = new Int32Array(states * symbols)
  const fail = new Int32Array(states)
  const queue: number[] = []
  for (let sym = 1; sym < symbols; sym++) {
    const next = (children[0] as Map<number, number>).get(sym)
    if (next !== undefined) {
      delta[sym] = next
      queue.push(next)
    }
  }
  for (let q = 0; q < queue.length; q++) {
    const node = queue[q] as number
    for (const id of owners[fail[node] as number] as Set<number>) (owners[node] as Set<number>).add(id)
    ;(ends[node] as [number, number][]).push(...(ends[fail[node] as number] as [number, number][]))
    for (let sym = 1; sym < symbols; sym++) {
      const next = (children[node] as Map<number, number>).get(sym)
      if (next !== undefined) {
        fail[next] = delta[(fail[node] as number) * symbols + sym] as number
        delta[node * symbols + sym] = next
        queue.push(next)
      } else {
        delta[node * symbols + sym] = delta[(fail[node] as number) * symbols + sym] as number
      }
    }
  }
  // Rows pre-multiplied by the symbol count, so the hot loop is one add and one load per character.
  for (let i = 0; i < delta.length; i++) delta[i] = (delta[i] as number) * symbols
  const output: (readonly number[] | undefined)[] = owners.map((set) => (set.size > 0 ? [...set] : undefined))
  const hasOutput = new Uint8Array(states * symbols)
  output.forEach((o, state) => (hasOutput[state * symbols] = o ? 1 : 0))
  const trackedEnds: (readonly (readonly [number, number])[] | undefined)[] = ends.map((list) => (list.length > 0 ? list : undefined))

  // Per-call "already reported" marks without clearing: a state counts as seen when its mark equals the call number.
  const seen = new Uint32Array(states)
  let call = 0

  // At a state with tracked keywords, report the start of each (only when the caller asks).
  const report = (state: number, i: number, starts: (owner: number, start: number) => void) => {
    const list = trackedEnds[state]
    if (list) for (const [owner, length] of list) starts(owner, i - length + 1)
  }

  // Over bytes, the automaton runs in the byte-scan module: its tables go there at the first byte scan.
  let tables: KeywordTables | undefined | null

  return {
    scan(text, hit, starts) {
      call = (call + 1) >>> 0
      if (call === 0) {
        seen.fill(0)
        call = 1
      }
      if (typeof text !== 'string') return scanBytes(text, hit, starts)
      let row = 0
      const n = text.length
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i)
        row = delta[row + (c < 128 ? (symbolOf[c] as number) : 0)] as number
        if (hasOutput[row] === 1) {
          const state = row / symbols
          if (starts) report(state, i, starts)
          if (seen[state] !== call) {
            seen[state] = call
            hit(output[state] as readonly number[])
          }
        }
      }
    },
  }

  function scanBytes(bytes: Uint8Array, hit: (owners: readonly number[]) => void, starts?: (owner: number, start: number) => void): void {
    if (tables === undefined) tables = (skipAtRoot ? keywordTables(trieForBytes()) : undefined) ?? null
    if (tables === null) return scanEveryByte(bytes, hit, starts)
    // Each occurrence is reported at the trie node where it ends: the node's own keywords only.
    scanKeywordBytes(bytes, tables, (end, row) => {
      const node = row / symbols
      const list = starts ? ownEnds[node] : undefined
      if (list && starts) for (const [owner, length] of list) starts(owner, end - length + 1)
      if (seen[node] !== call) {
        seen[node] = call
        hit(ownOutput[node] as readonly number[])
      }
    })
  }

  function trieForBytes(): KeywordTrie {
    const childRows = new Int32Array(states * symbols)
    const endRows = new Uint8Array(states * symbols)
    children.forEach((map, node) => {
      for (const [sym, child] of map) childRows[node * symbols + sym] = child * symbols
      if (ownOutput[node]) endRows[node * symbols] = 1
    })
    return { keywords: lower, symbolOfByte, children: childRows, ends: endRows }
  }

  // The same loop over bytes, in its own function so that each loop sees one input type.
  function scanEveryByte(bytes: Uint8Array, hit: (owners: readonly number[]) => void, starts?: (owner: number, start: number) => void): void {
    let row = 0
    const n = bytes.length
    for (let i = 0; i < n; i++) {
      if (row === 0 && skipAtRoot) {
        while (i + 1 < n) {
          const id = pairId[((bytes[i] as number) << 8) | (bytes[i + 1] as number)] as number
          if (id !== 0 && (pairIsKeyword[id] === 1 || (i + 2 < n && continues[id * 256 + (bytes[i + 2] as number)] === 1))) break
          i++
        }
        if (i + 1 >= n) return // one byte left at the root: no keyword fits
      }
      row = delta[row + (symbolOfByte[bytes[i] as number] as number)] as number
      if (hasOutput[row] === 1) {
        const state = row / symbols
        if (starts) report(state, i, starts)
        if (seen[state] !== call) {
          seen[state] = call
          hit(output[state] as readonly number[])
        }
      }
    }
  }
}
