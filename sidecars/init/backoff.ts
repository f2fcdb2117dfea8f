/**
 * Restart delay after the n-th consecutive unexpected exit (n starts at 1):
 * initial * 2^(n-1), capped. Pure, so the schedule is testable without clocks.
 */
export function restartDelayMs(consecutiveFailures: number, initialMs: number, maxMs: number): number {
  const exponent = Math.max(0, consecutiveFailures - 1)
  // 2^31 already exceeds any sane cap; stopping there keeps the math finite.
  const delay = initialMs * 2 ** Math.min(exponent, 31)
  return Math.min(delay, maxMs)
}
