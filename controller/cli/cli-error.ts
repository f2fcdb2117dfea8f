/** Exit codes are part of the CLI's contract: scripts branch on them. */
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** An error the CLI prints as one line and turns into an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE)
  }
}
