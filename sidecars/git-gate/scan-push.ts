/**
 * The pre-receive scan: everything a push adds, through the DLP engine.
 *
 * What is new is what the mirror does not have yet: `git rev-list <tips>
 * --not --all` (the mirror's refs are upstream's refs as of the last refresh,
 * so history upstream already holds is not scanned again). For each new
 * commit: its message and author lines, the names of files it creates, and
 * the lines it adds (diff-tree; merges as combined diffs). Binary files are
 * scanned whole, as text, when at most `maxFileBytes`. Annotated tags: their
 * messages. Ref names too.
 *
 * Caps, and what happens above them (`oversized: block`, the default, fails
 * closed; `allow` lets the content through unscanned and says so):
 *   - a file whose added text (or a binary file whose size) exceeds
 *     maxFileBytes, default 2 MiB: rule `file-too-large-to-scan`;
 *   - a push whose scanned text would exceed maxPushScanBytes, default
 *     32 MiB: rule `push-too-large-to-scan`, and scanning stops.
 * git itself treats files over maxFileBytes as binary (core.bigFileThreshold),
 * so it never diffs a huge file just for the gate to discard it.
 *
 * Findings name a rule and a location, never the matched text. Where a file
 * name itself holds the secret, the location withholds the name.
 */
import type { DlpScanner } from '../dlp/types.js'
import { objectInfo, OBJECT_ID, readObjects, splitObject, type ObjectInfo } from './git-objects.js'
import { LineSplitter } from './line-splitter.js'
import { PatchParser, type AddedRun, type FilePatch } from './patch-parser.js'
import { GitCommandError, runGitOk, type GitRunner } from './run-git.js'
import { scanRun } from './scan-lines.js'

export interface PushUpdate {
  oldId: string
  newId: string
  ref: string
}

export const FILE_TOO_LARGE_RULE = 'file-too-large-to-scan'
export const PUSH_TOO_LARGE_RULE = 'push-too-large-to-scan'
export const UNSUPPORTED_OBJECT_RULE = 'unsupported-object'
export const UNREADABLE_PATH_RULE = 'unreadable-path'

export interface PushFinding {
  /** A DLP rule id, or one of the cap and structure rules above. */
  rule: string
  /** `src/config.ts:12`, `commit message:3`, `file name`, `ref name`, `refs/tags/v1`. */
  location: string
  /** Short id of the commit (or tag) that carries it. */
  commit?: string
  /** How the value was hidden, when it was (`base64`, ...). */
  encoding?: string
  /** For the caps: what was measured, in words (`5.0 MiB added; the limit is 2.0 MiB`). */
  detail?: string
}

export interface PushScanOptions {
  scanner: DlpScanner
  maxFileBytes: number
  maxPushScanBytes: number
  oversized: 'block' | 'allow'
}

export interface PushScanResult {
  /** What refuses the push. */
  findings: PushFinding[]
  /** Content over the caps let through unscanned (only with oversized: allow). */
  unscanned: PushFinding[]
  commits: number
  files: number
  scannedBytes: number
}

const SHORT = 10
const MAX_TAG_DEPTH = 8
const OBJECT_BATCH_BYTES = 16 * 1024 * 1024

export function isZeroId(id: string): boolean {
  return /^0+$/.test(id)
}

/** Parse the lines receive-pack writes to the hook: `<old> <new> <ref>`. */
export function parsePushUpdates(text: string): PushUpdate[] {
  const updates: PushUpdate[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const match = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (refs\/\S+)$/.exec(line)
    if (!match) throw new Error(`unexpected update line from receive-pack: ${JSON.stringify(line.slice(0, 120))}`)
    updates.push({ oldId: match[1] as string, newId: match[2] as string, ref: match[3] as string })
  }
  return updates
}

/** A path as it may appear in a one-line message: as is when printable, else JSON-quoted. */
export function displayPath(path: string): string {
  return /^[\x21-\x7e][\x20-\x7e]*$/.test(path) && !path.endsWith(' ') ? path : JSON.stringify(path)
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

class PushScan {
  readonly findings: PushFinding[] = []
  readonly unscanned: PushFinding[] = []
  scannedBytes = 0
  files = 0
  private budgetSpent = false

  constructor(private readonly options: PushScanOptions) {}

  /** Content over a cap: a finding, or a note that it went through unscanned. */
  oversized(finding: PushFinding): void {
    ;(this.options.oversized === 'block' ? this.findings : this.unscanned).push(finding)
  }

  /** Reserve scan budget; false (once reported) when the push has spent it. */
  spend(bytes: number, where: Omit<PushFinding, 'rule'>): boolean {
    if (this.budgetSpent) return false
    if (this.scannedBytes + bytes > this.options.maxPushScanBytes) {
      this.budgetSpent = true
      this.oversized({ ...where, rule: PUSH_TOO_LARGE_RULE, detail: `more than ${mib(this.options.maxPushScanBytes)} to scan in one push; push in smaller parts` })
      return false
    }
    this.scannedBytes += bytes
    return true
  }

  /** Scan lines; each finding gets `label(line)` as its location. */
  lines(run: AddedRun, label: (line: number) => string, commit: string | undefined): void {
    for (const hit of scanRun(this.options.scanner, run)) {
      this.findings.push({
        rule: hit.rule,
        location: label(hit.line),
        ...(commit !== undefined ? { commit } : {}),
        ...(hit.encoding !== undefined ? { encoding: hit.encoding } : {}),
      })
    }
  }

  /** A single string: any finding means the string itself holds the secret. */
  text(text: string, location: string, commit: string | undefined): boolean {
    const hits = this.options.scanner.scanText(text, location)
    for (const hit of hits) {
      this.findings.push({
        rule: hit.rule,
        location,
        ...(commit !== undefined ? { commit } : {}),
        ...(hit.encoding !== undefined ? { encoding: hit.encoding } : {}),
      })
    }
    return hits.length > 0
  }
}

export async function scanPush(git: GitRunner, updates: readonly PushUpdate[], options: PushScanOptions): Promise<PushScanResult> {
  const scan = new PushScan(options)

  for (const update of updates) scan.text(update.ref, 'ref name', undefined)

  const tips = await peelTips(git, updates, scan, options)
  const commits = tips.length === 0 ? [] : await newCommits(git, tips)
  await scanCommitObjects(git, commits, scan, options)
  const binaries = await scanDiffs(git, commits, scan, options)
  await scanBinaries(git, binaries, scan, options)

  return { findings: scan.findings, unscanned: scan.unscanned, commits: commits.length, files: scan.files, scannedBytes: scan.scannedBytes }
}

/** Follow each new tip through annotated tags (scanning their messages) to the commit it names. */
async function peelTips(git: GitRunner, updates: readonly PushUpdate[], scan: PushScan, options: PushScanOptions): Promise<string[]> {
  const commits = new Set<string>()
  let pending = updates.filter((u) => !isZeroId(u.newId)).map((u) => ({ ref: u.ref, id: u.newId }))
  for (let depth = 0; pending.length > 0; depth++) {
    const infos = await objectInfo(git, pending.map((p) => p.id))
    const tags: Array<{ ref: string; info: ObjectInfo }> = []
    for (const { ref, id } of pending) {
      const info = infos.get(id)
      if (info?.type === 'commit') commits.add(id)
      else if (info?.type === 'tag' && depth < MAX_TAG_DEPTH) tags.push({ ref, info })
      else {
        scan.findings.push({ rule: UNSUPPORTED_OBJECT_RULE, location: displayPath(ref), detail: `points to ${info?.type === 'missing' || !info ? 'a missing object' : `a ${info.type}`}; only commits and annotated tags of commits are accepted` })
      }
    }
    pending = []
    const small = tags.filter((t) => t.info.size <= options.maxFileBytes)
    for (const t of tags) if (t.info.size > options.maxFileBytes) scan.oversized({ rule: FILE_TOO_LARGE_RULE, location: `tag message of ${displayPath(t.ref)}`, detail: `${mib(t.info.size)}; the limit is ${mib(options.maxFileBytes)}` })
    const contents = await readObjects(git, small.map((t) => t.info.id))
    for (const { ref, info } of small) {
      const raw = contents.get(info.id)
      if (!raw) continue
      const { headers, message } = splitObject(raw)
      const short = info.id.slice(0, SHORT)
      if (scan.spend(raw.length, { location: `tag ${short}` })) {
        scan.lines({ firstLine: 1, lines: message.split('\n') }, (line) => `tag message:${line}`, short)
        for (const [name, value] of headers) if (name === 'tag' || name === 'tagger') scan.text(value, `tag ${name}`, short)
      }
      const target = headers.find(([name]) => name === 'object')?.[1]
      if (target && OBJECT_ID.test(target)) pending.push({ ref, id: target })
    }
  }
  return [...commits]
}

/** Commits reachable from the tips that no ref of the mirror reaches: what upstream does not have. */
async function newCommits(git: GitRunner, tips: readonly string[]): Promise<string[]> {
  const stdout = await runGitOk(git, ['rev-list', '--topo-order', '--reverse', ...tips, '--not', '--all'], { maxStdoutBytes: 256 * 1024 * 1024 })
  return stdout.toString('utf8').split('\n').filter((line) => OBJECT_ID.test(line))
}

/** Commit messages and author/committer lines. */
async function scanCommitObjects(git: GitRunner, commits: readonly string[], scan: PushScan, options: PushScanOptions): Promise<void> {
  if (commits.length === 0) return
  const infos = await objectInfo(git, commits)
  let batch: string[] = []
  let batchBytes = 0
  const flush = async () => {
    const contents = await readObjects(git, batch)
    for (const id of batch) {
      const raw = contents.get(id)
      if (!raw) continue
      const short = id.slice(0, SHORT)
      if (!scan.spend(raw.length, { location: `commit ${short}` })) break
      const { headers, message } = splitObject(raw)
      scan.lines({ firstLine: 1, lines: message.split('\n') }, (line) => `commit message:${line}`, short)
      for (const [name, value] of headers) if (name === 'author' || name === 'committer') scan.text(value, `commit ${name}`, short)
    }
    batch = []
    batchBytes = 0
  }
  for (const id of commits) {
    const size = infos.get(id)?.size ?? 0
    if (size > options.maxFileBytes) {
      scan.oversized({ rule: FILE_TOO_LARGE_RULE, location: 'commit message', commit: id.slice(0, SHORT), detail: `${mib(size)}; the limit is ${mib(options.maxFileBytes)}` })
      continue
    }
    batch.push(id)
    batchBytes += size
    if (batchBytes >= OBJECT_BATCH_BYTES) await flush()
  }
  if (batch.length > 0) await flush()
}

interface BinaryFile {
  commit: string
  label: string
  blob: string
}

/** Stream every new commit's diff through the patch parser, scanning each file as it completes. */
async function scanDiffs(git: GitRunner, commits: readonly string[], scan: PushScan, options: PushScanOptions): Promise<BinaryFile[]> {
  const binaries: BinaryFile[] = []
  if (commits.length === 0) return binaries
  const onFile = (file: FilePatch) => {
    if (file.deleted) return
    scan.files++
    const short = file.commit.slice(0, SHORT)
    if (file.path === undefined) {
      scan.findings.push({ rule: UNREADABLE_PATH_RULE, location: 'a file of the commit', commit: short, detail: 'git printed a file header the gate cannot read' })
      return
    }
    let label = displayPath(file.path)
    if (file.created && scan.text(file.path, 'file name', short)) label = 'a new file whose name is withheld'
    if (file.binary) {
      if (file.newBlob && OBJECT_ID.test(file.newBlob)) binaries.push({ commit: short, label, blob: file.newBlob })
      return
    }
    if (file.oversized) {
      scan.oversized({ rule: FILE_TOO_LARGE_RULE, location: label, commit: short, detail: `${mib(file.addedBytes)} added; the limit is ${mib(options.maxFileBytes)}` })
      return
    }
    if (!scan.spend(file.addedBytes, { location: label, commit: short })) return
    for (const run of file.runs) scan.lines(run, (line) => `${label}:${line}`, short)
  }
  const parser = new PatchParser(onFile, options.maxFileBytes)
  const splitter = new LineSplitter((text, bytes) => parser.line(text, bytes), options.maxFileBytes + 16)
  const args = [
    '-c', `core.bigFileThreshold=${options.maxFileBytes}`,
    '-c', 'core.quotePath=true',
    'diff-tree', '--stdin', '-r', '-p', '--cc', '--root', '--always', '--full-index',
    '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv', '--ignore-submodules=none',
  ]
  const result = await git.run(args, { input: commits.join('\n') + '\n', onStdout: (chunk) => splitter.push(chunk) })
  if (result.code !== 0 || result.timedOut) throw new GitCommandError('diff-tree', result)
  splitter.end()
  parser.end()
  return binaries
}

/** Binary files: scanned whole, as text, when small enough. */
async function scanBinaries(git: GitRunner, binaries: readonly BinaryFile[], scan: PushScan, options: PushScanOptions): Promise<void> {
  if (binaries.length === 0) return
  const infos = await objectInfo(git, binaries.map((b) => b.blob))
  const small: BinaryFile[] = []
  for (const file of binaries) {
    const size = infos.get(file.blob)?.size ?? 0
    if (size > options.maxFileBytes) {
      scan.oversized({ rule: FILE_TOO_LARGE_RULE, location: file.label, commit: file.commit, detail: `binary, ${mib(size)}; the limit is ${mib(options.maxFileBytes)}` })
    } else {
      small.push(file)
    }
  }
  let batch: BinaryFile[] = []
  let batchBytes = 0
  const flush = async () => {
    const contents = await readObjects(git, batch.map((b) => b.blob))
    for (const file of batch) {
      const raw = contents.get(file.blob)
      if (!raw || !scan.spend(raw.length, { location: file.label, commit: file.commit })) continue
      scan.lines({ firstLine: 1, lines: raw.toString('utf8').split('\n') }, (line) => `${file.label}:${line}`, file.commit)
    }
    batch = []
    batchBytes = 0
  }
  for (const file of small) {
    batch.push(file)
    batchBytes += infos.get(file.blob)?.size ?? 0
    if (batchBytes >= OBJECT_BATCH_BYTES) await flush()
  }
  if (batch.length > 0) await flush()
}
