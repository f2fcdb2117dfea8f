/**
 * Runs an async job so that runs never overlap and a burst of requests
 * becomes at most one more run: a request while a run is going marks it to
 * go again (with the latest reason) and shares its promise. Config reloads
 * of the bundle's daemons use it, so a storm of SIGHUPs and file events
 * costs two loads, not a hundred.
 */
export function coalescingRunner(job: (reason: string) => Promise<void>): { run(reason: string): Promise<void>; idle(): Promise<void> } {
  let running: Promise<void> | undefined
  let again = false
  let nextReason = ''
  return {
    run(reason: string): Promise<void> {
      nextReason = reason
      if (running) {
        again = true
        return running
      }
      running = (async () => {
        try {
          do {
            again = false
            await job(nextReason)
          } while (again)
        } finally {
          running = undefined
        }
      })()
      return running
    },
    async idle(): Promise<void> {
      await running
    },
  }
}
