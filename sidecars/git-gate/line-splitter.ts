/**
 * Splits git's output into lines without ever holding more than a cap of any
 * one line: a 100 MB file with no newline is one "line" to git, and the scan
 * only needs to know it is too big. Each line is handed over decoded (UTF-8;
 * invalid bytes become U+FFFD, ASCII survives) with its true byte length.
 */

export type LineHandler = (text: string, byteLength: number) => void

export class LineSplitter {
  private parts: Buffer[] = []
  private kept = 0
  private total = 0

  constructor(
    private readonly onLine: LineHandler,
    private readonly maxLineBytes: number,
  ) {}

  push(chunk: Buffer): void {
    let start = 0
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start)
      const end = newline === -1 ? chunk.length : newline
      this.keep(chunk.subarray(start, end))
      if (newline === -1) return
      this.emit()
      start = newline + 1
    }
  }

  /** Hand over a last line that had no newline. */
  end(): void {
    if (this.total > 0 || this.parts.length > 0) this.emit()
  }

  private keep(piece: Buffer): void {
    this.total += piece.length
    const room = this.maxLineBytes - this.kept
    if (room <= 0 || piece.length === 0) return
    const part = piece.length > room ? piece.subarray(0, room) : piece
    // Copy: the chunk's memory belongs to the stream.
    this.parts.push(Buffer.from(part))
    this.kept += part.length
  }

  private emit(): void {
    const text = Buffer.concat(this.parts).toString('utf8')
    const bytes = this.total
    this.parts = []
    this.kept = 0
    this.total = 0
    this.onLine(text, bytes)
  }
}
