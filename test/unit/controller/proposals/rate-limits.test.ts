import { describe, expect, it } from 'vitest'
import { rateLimitProblem } from '../../../../controller/proposals/rate-limits.js'
import { proposal } from './support/spec-folder.js'

const NOW = new Date('2025-06-01T12:00:00.000Z')
const LIMITS = { maxPending: 2, maxPerHour: 3 }
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString()

describe('rateLimitProblem', () => {
  const cases: { name: string; proposals: ReturnType<typeof proposal>[]; want: RegExp | undefined }[] = [
    { name: 'nothing yet', proposals: [], want: undefined },
    { name: 'one pending', proposals: [proposal('impl-1', 'a.example.com')], want: undefined },
    { name: 'maxPending pending', proposals: [proposal('impl-1', 'a.example.com'), proposal('impl-2', 'b.example.com')], want: /2 proposals are already waiting for a human \(at most 2\)/ },
    { name: "another agent's pending do not count", proposals: [proposal('o-1', 'a.example.com', { agent: 'o' }), proposal('o-2', 'b.example.com', { agent: 'o' })], want: undefined },
    {
      name: 'maxPerHour decided in the last hour',
      proposals: [1, 2, 3].map((i) => proposal(`impl-${i}`, `h${i}.example.com`, { phase: 'Approved', createdAt: minutesAgo(10 * i) })),
      want: /3 proposals were filed in the last hour \(at most 3\)/,
    },
    {
      name: 'older than an hour does not count',
      proposals: [1, 2, 3].map((i) => proposal(`impl-${i}`, `h${i}.example.com`, { phase: 'Rejected', createdAt: minutesAgo(60 + i) })),
      want: undefined,
    },
    {
      // A hand-edited file without a readable time errs towards the limit.
      name: 'an unreadable creation time counts as recent',
      proposals: [1, 2, 3].map((i) => proposal(`impl-${i}`, `h${i}.example.com`, { phase: 'Rejected', createdAt: 'yesterday' })),
      want: /filed in the last hour/,
    },
  ]
  it.each(cases)('$name', ({ proposals, want }) => {
    const problem = rateLimitProblem('impl', proposals, LIMITS, NOW)
    if (want === undefined) expect(problem).toBeUndefined()
    else expect(problem).toMatch(want)
  })
})
