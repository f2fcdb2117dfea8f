import { describe, expect, it } from 'vitest'
import { describePushFinding, GateRejection, oneLine, pushRefusalLines, redactSecrets } from '../../../../sidecars/git-gate/gate-rejection.js'

describe('describePushFinding', () => {
  const cases = [
    { finding: { rule: 'aws-access-key-id', location: 'src/config.ts:12' }, want: 'src/config.ts:12: aws-access-key-id' },
    { finding: { rule: 'aws-access-key-id', location: 'src/a.ts:3', commit: '1a2b3c4d5e', encoding: 'base64' }, want: 'src/a.ts:3: aws-access-key-id (hidden as base64) in commit 1a2b3c4d5e' },
    { finding: { rule: 'file-too-large-to-scan', location: 'big.bin', commit: 'abc', detail: 'binary, 3.0 MiB; the limit is 2.0 MiB' }, want: 'big.bin: file-too-large-to-scan in commit abc (binary, 3.0 MiB; the limit is 2.0 MiB)' },
  ]
  it.each(cases)('$want', ({ finding, want }) => {
    expect(describePushFinding(finding)).toBe(want)
  })
})

describe('pushRefusalLines', () => {
  it('one marked line per finding, then what to do', () => {
    expect(pushRefusalLines([{ rule: 'private-key', location: 'deploy/id.pem:1' }])).toEqual([
      'bottle-git-gate: refused push: deploy/id.pem:1: private-key',
      'bottle-git-gate: nothing was sent upstream. Remove the secret from every commit that adds it (git commit --amend, git rebase -i) and push again.',
    ])
  })

  it('lists at most twenty findings', () => {
    const findings = Array.from({ length: 25 }, (_, i) => ({ rule: 'github-pat', location: `f${i}.txt:1` }))
    const lines = pushRefusalLines(findings)
    expect(lines).toHaveLength(22)
    expect(lines[20]).toBe('bottle-git-gate: refused push: ... and 5 more')
  })
})

describe('GateRejection', () => {
  const statuses = [
    { code: 'bad-path', status: 400 },
    { code: 'not-found', status: 404 },
    { code: 'too-large', status: 413 },
    { code: 'no-config', status: 503 },
  ] as const
  it.each(statuses)('$code is HTTP $status', ({ code, status }) => {
    expect(new GateRejection(code, 'x').status).toBe(status)
  })
})

describe('oneLine and redactSecrets', () => {
  it('flattens control characters and bounds length', () => {
    expect(oneLine('a\nb\r\n\tc\u0000d')).toBe('a b c d')
    expect(oneLine('x'.repeat(400))).toHaveLength(300)
  })
  it('replaces every occurrence of every secret', () => {
    expect(redactSecrets('token tok123 and tok123 and other', ['tok123', 'other'])).toBe('token [redacted] and [redacted] and [redacted]')
  })
})
