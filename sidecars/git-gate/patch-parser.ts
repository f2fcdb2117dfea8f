/**
 * Reads the output of
 *   git diff-tree --stdin -r -p --cc --root --always --full-index --no-renames
 * one line at a time and hands over, for each file of each commit, what the
 * commit added: its runs of added lines with their line numbers in the new
 * file, whether the file is new (its name is new text too), and for binary
 * files the new blob to scan whole.
 *
 * Telling structure from content needs no line counting: every content line
 * of a hunk starts with one prefix column per parent (` `, `+`, `-`) or is
 * `\ No newline`; headers, `@@` lines and commit ids never do. For a merge
 * (combined diff) only lines added against every parent are the merge's own
 * text; lines from one parent were scanned with that parent's commit or are
 * already upstream.
 */
import { pathOfGitHeader, pathOfName } from './quoted-path.js'

export interface AddedRun {
  /** Line number (1-based, in the new file) of lines[0]. */
  firstLine: number
  lines: string[]
}

export interface FilePatch {
  commit: string
  /** Undefined when the header could not be read (reported as unscannable). */
  path: string | undefined
  created: boolean
  deleted: boolean
  binary: boolean
  /** The new blob (full id) when the index line named one. */
  newBlob: string | undefined
  runs: AddedRun[]
  /** Bytes of added text, counted even after the file went over the cap. */
  addedBytes: number
  /** Added text went over maxFileBytes: runs were dropped. */
  oversized: boolean
}

const COMMIT_LINE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
const HUNK = /^(@@+) (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@+/
const INDEX = /^index (?:[0-9a-f]+,)*[0-9a-f]+\.\.([0-9a-f]+)(?: [0-7]+)?$/

export class PatchParser {
  private commit: string | undefined
  private file: FilePatch | undefined
  /** Prefix columns of the current hunk (1, or the number of parents); 0 outside hunks. */
  private columns = 0
  private nextLine = 0
  private run: AddedRun | undefined

  constructor(
    private readonly onFile: (file: FilePatch) => void,
    private readonly maxFileBytes: number,
    private readonly onCommit: (commit: string) => void = () => {},
  ) {}

  line(text: string, byteLength: number): void {
    if (this.columns > 0 && this.file && this.hunkLine(text, byteLength)) return
    this.columns = 0
    if (COMMIT_LINE.test(text)) {
      this.finishFile()
      this.commit = text
      this.onCommit(text)
      return
    }
    if (text.startsWith('diff --git ')) return this.startFile(pathOfGitHeader(text.slice('diff --git '.length)))
    if (text.startsWith('diff --cc ')) return this.startFile(pathOfName(text.slice('diff --cc '.length), ''))
    if (text.startsWith('diff --combined ')) return this.startFile(pathOfName(text.slice('diff --combined '.length), ''))
    const file = this.file
    if (!file) return
    const hunk = HUNK.exec(text)
    if (hunk) {
      this.columns = (hunk[1] as string).length - 1
      this.nextLine = Number(hunk[2])
      this.run = undefined
      return
    }
    if (text.startsWith('new file mode ')) file.created = true
    else if (text.startsWith('deleted file mode ')) file.deleted = true
    else if (text.startsWith('Binary files ') && text.endsWith(' differ')) file.binary = true
    else if (text.startsWith('+++ ') && file.path === undefined) file.path = pathOfName(text.slice(4), 'b/')
    else {
      const index = INDEX.exec(text)
      if (index) file.newBlob = index[1]
    }
  }

  /** Call once after the last line. */
  end(): void {
    this.finishFile()
  }

  /** A content line of the current hunk; false when the line is structure (the hunk is over). */
  private hunkLine(text: string, byteLength: number): boolean {
    if (text === '') {
      // A blank context line, as some git configurations print it.
      this.nextLine++
      this.run = undefined
      return true
    }
    if (text.startsWith('\\')) return true
    const prefix = text.slice(0, this.columns)
    if (prefix.length < this.columns || !/^[ +-]+$/.test(prefix)) return false
    if (prefix.includes('-')) {
      this.run = undefined
      return true
    }
    if (/^\++$/.test(prefix)) this.added(text.slice(this.columns), byteLength - this.columns)
    else this.run = undefined
    this.nextLine++
    return true
  }

  private added(content: string, bytes: number): void {
    const file = this.file as FilePatch
    file.addedBytes += bytes + 1
    if (file.oversized) return
    if (file.addedBytes > this.maxFileBytes) {
      file.oversized = true
      file.runs = []
      this.run = undefined
      return
    }
    if (this.run === undefined) {
      this.run = { firstLine: this.nextLine, lines: [] }
      file.runs.push(this.run)
    }
    this.run.lines.push(content)
  }

  private startFile(path: string | undefined): void {
    this.finishFile()
    this.file = {
      commit: this.commit ?? '',
      path,
      created: false,
      deleted: false,
      binary: false,
      newBlob: undefined,
      runs: [],
      addedBytes: 0,
      oversized: false,
    }
  }

  private finishFile(): void {
    const file = this.file
    this.file = undefined
    this.columns = 0
    this.run = undefined
    if (file) this.onFile(file)
  }
}
