/** Where a command writes; tests pass their own streams. */
export interface CliIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}
