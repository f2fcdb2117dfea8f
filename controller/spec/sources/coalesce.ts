/**
 * Calls `fn` once after events stop arriving for `quietMs`, and at least
 * every `maxWaitMs` while they keep arriving. An editor's delete-then-rename
 * save lands inside one window, so the controller sees the file present.
 */
export function coalesce(fn: () => void, quietMs: number, maxWaitMs: number): { poke(): void; cancel(): void } {
  let quiet: NodeJS.Timeout | undefined
  let deadline: NodeJS.Timeout | undefined
  const fire = () => {
    if (quiet) clearTimeout(quiet)
    if (deadline) clearTimeout(deadline)
    quiet = deadline = undefined
    fn()
  }
  return {
    poke() {
      if (quiet) clearTimeout(quiet)
      quiet = setTimeout(fire, quietMs)
      deadline ??= setTimeout(fire, maxWaitMs)
    },
    cancel() {
      if (quiet) clearTimeout(quiet)
      if (deadline) clearTimeout(deadline)
      quiet = deadline = undefined
    },
  }
}
