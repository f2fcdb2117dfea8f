/**
 * Every rule of the catalog runs on every request the proxy forwards, so
 * none may be super-linear: each is timed alone on inputs built to make a
 * backtracking regex work hard (its keywords back to back, keywords followed
 * by long runs of token characters, truncated and repeated samples).
 * Linear rules take milliseconds per MiB; a super-linear one takes minutes.
 *
 * DLP_ADVERSARIAL_MIB sets the input size (default 1; the catalog was
 * checked at 8).
 */
import { describe, expect, it } from 'vitest'
import { SampleRandom, SECRET_SAMPLES, type SecretSample } from '../../../../fixtures/secret-samples.js'
import { compileCredentialMatcher } from '../../../../sidecars/dlp/credential-matcher.js'
import { CREDENTIAL_PATTERNS } from '../../../../sidecars/dlp/credential-patterns.js'
import type { CredentialPattern } from '../../../../sidecars/dlp/types.js'

const MIB = Number(process.env['DLP_ADVERSARIAL_MIB'] ?? 1)
const SIZE = Math.round(MIB * 1024 * 1024)
/** Generous for a shared 2-core machine: a linear rule needs a few ms per MiB. */
const BUDGET_MS = 1500 * MIB

function fill(unit: string): string {
  if (unit.length === 0) return ''
  return unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE)
}

/** Inputs are built inside each test: built up front, 8 MiB each for every rule, they would not fit in the heap. */
function adversarialInputs(p: CredentialPattern): { name: string; build: () => string }[] {
  const sample = (SECRET_SAMPLES[p.id] as SecretSample).generate(new SampleRandom(7))
  const keywords = p.keywords ?? []
  const chosen = [...new Set([...keywords.slice(0, 3), ...[...keywords].sort((a, b) => b.length - a.length).slice(0, 1)])]
  const inputs = [
    { name: 'sample without its last character, repeated', build: () => fill(`${sample.slice(0, -1)}\n`) },
    { name: 'first half of a sample, back to back', build: () => fill(sample.slice(0, Math.max(1, sample.length >> 1))) },
    { name: 'samples back to back', build: () => fill(sample) },
    { name: 'one letter', build: () => fill('A') },
    { name: 'indented lines', build: () => fill('  a: AAAAAAAAAAAA\n') },
  ]
  for (const k of chosen) {
    inputs.push(
      { name: `${k} with spaces`, build: () => fill(`${k} `) },
      { name: `${k} back to back`, build: () => fill(k) },
      { name: `${k} then a long run`, build: () => fill(`${k}${'aB3'.repeat(100)} `) },
      { name: `${k} assigned a long run`, build: () => fill(`${k}_KEY=${'A1b2'.repeat(80)}\n`) },
    )
  }
  return inputs
}

describe.each(CREDENTIAL_PATTERNS.map((p) => ({ id: p.id, p })))('$id on adversarial input', ({ p }) => {
  const find = compileCredentialMatcher([p])
  it.each(adversarialInputs(p))(`stays linear: $name (${MIB} MiB)`, ({ build }) => {
    const text = build()
    const start = performance.now()
    find(text)
    // Stays here, not in bench/: a backtracking rule takes seconds to minutes on this input, a
    // linear one milliseconds, so the budget separates the two on any machine.
    expect(performance.now() - start).toBeLessThan(BUDGET_MS)
  })
})
