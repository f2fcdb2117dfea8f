/**
 * The catalog as a whole, rule by rule, against random valid tokens from
 * `fixtures/secret-samples.ts`: every rule finds its format alone, in text
 * and in JSON, ignores its near misses, has keywords, and says truthfully
 * how far before a keyword its matches start. Also: every rule of gitleaks'
 * default config maps to a bottle rule that exists and claims it.
 */
import { describe, expect, it } from 'vitest'
import { SampleRandom, SECRET_SAMPLES, type SecretSample } from '../../../../fixtures/secret-samples.js'
import { GITLEAKS_COMMIT, GITLEAKS_COVERAGE } from '../../../../sidecars/dlp/catalog/gitleaks-coverage.js'
import { CREDENTIAL_PATTERNS, findCredentials } from '../../../../sidecars/dlp/credential-patterns.js'
import { isKnownPlaceholder } from '../../../../sidecars/dlp/known-placeholders.js'
import type { CredentialPattern } from '../../../../sidecars/dlp/types.js'

const SAMPLES_PER_RULE = 200
/** gitleaks ids whose formats bottle splits over two rules; the coverage map names one (see its comment). */
const SPLIT_IDS: Readonly<Record<string, readonly string[]>> = {
  'github-app-token': ['github-server-token', 'github-user-token'],
  'stripe-access-token': ['stripe-secret-key', 'stripe-restricted-key'],
}

const sampleOf = (id: string) => SECRET_SAMPLES[id] as SecretSample
const found = (text: string, rule: string) => findCredentials(text).some((m) => m.rule === rule)

/** Seeded per rule, so one rule's failure reproduces alone. */
function seedOf(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const embeddings: Record<'standalone' | 'text' | 'json', (sample: string) => string> = {
  standalone: (sample) => sample,
  text: (sample) => `Here is the configuration we use:\n${sample}\nLet me know if the deploy fails again.`,
  json: (sample) => JSON.stringify({ role: 'user', content: sample, attachments: [] }),
}

/**
 * Where each match of `p` in `text` starts (the regex match, or the
 * credential when that lies before it) and where the first keyword
 * occurrence inside it starts.
 */
function keywordOffsets(p: CredentialPattern, text: string): { start: number; matchIndex: number; keyword: number }[] {
  const re = new RegExp(p.pattern.source, `${p.pattern.flags.replace('g', '')}gd`)
  const lower = text.toLowerCase()
  const out: { start: number; matchIndex: number; keyword: number }[] = []
  for (const m of text.matchAll(re)) {
    let value = m[0]
    let at = m.index
    for (let g = 1; g < m.length; g++) {
      const span = m.indices?.[g]
      if (m[g] !== undefined && span) {
        value = m[g] as string
        at = span[0]
        break
      }
    }
    if ((p.verify && !p.verify(value)) || isKnownPlaceholder(value)) continue
    const start = Math.min(m.index, at)
    const end = Math.max(m.index + m[0].length, at + value.length)
    let keyword = -1
    for (const k of p.keywords ?? []) {
      const i = lower.indexOf(k.toLowerCase(), start)
      if (i >= 0 && i + k.length <= end && (keyword < 0 || i < keyword)) keyword = i
    }
    out.push({ start, matchIndex: m.index, keyword })
  }
  return out
}

describe('gitleaks coverage', () => {
  const bottleIds = new Set(CREDENTIAL_PATTERNS.map((p) => p.id))

  it(`maps the 222 rules of gitleaks' default config (${GITLEAKS_COMMIT}) to bottle rules that exist`, () => {
    expect(Object.keys(GITLEAKS_COVERAGE)).toHaveLength(222)
    expect(Object.entries(GITLEAKS_COVERAGE).filter(([, rule]) => !bottleIds.has(rule))).toEqual([])
  })

  it("is claimed by the mapped rule's samples, and samples claim nothing the map sends elsewhere", () => {
    for (const [gitleaksId, rule] of Object.entries(GITLEAKS_COVERAGE)) expect(sampleOf(rule).gitleaks, gitleaksId).toContain(gitleaksId)
    for (const [rule, sample] of Object.entries(SECRET_SAMPLES)) {
      for (const gitleaksId of sample.gitleaks) expect(SPLIT_IDS[gitleaksId] ?? [GITLEAKS_COVERAGE[gitleaksId]], `${rule} claims ${gitleaksId}`).toContain(rule)
    }
  })
})

describe('the catalog', () => {
  it('has a sample generator for every rule, and a rule for every generator', () => {
    expect(CREDENTIAL_PATTERNS.map((p) => p.id).sort()).toEqual(Object.keys(SECRET_SAMPLES).sort())
  })

  it('gives every rule keywords, or a required run where no literal exists', () => {
    const withoutKeywords = CREDENTIAL_PATTERNS.filter((p) => !p.keywords?.length).map((p) => p.id)
    expect(withoutKeywords).toEqual(['discord-bot-token'])
    expect(CREDENTIAL_PATTERNS.filter((p) => !p.keywords?.length && !p.requiresRun)).toEqual([])
  })

  it('uses ASCII keywords of 2+ characters, and anchors only on keywords', () => {
    for (const p of CREDENTIAL_PATTERNS) {
      for (const k of p.keywords ?? []) expect(k, p.id).toMatch(/^[\t\x20-\x7e]{2,}$/)
      if (p.startsWithKeyword) expect(p.keywords?.length, p.id).toBeGreaterThan(0)
    }
  })
})

describe.each(CREDENTIAL_PATTERNS.map((p) => ({ id: p.id, p })))('$id', ({ id, p }) => {
  const sample = sampleOf(id)
  const rng = new SampleRandom(seedOf(id))
  const samples = Array.from({ length: SAMPLES_PER_RULE }, () => sample.generate(rng))
  const places = (sample.embeds ?? ['text', 'json']).concat() as ('text' | 'json')[]

  it.each(['standalone' as const, ...places])(`finds ${SAMPLES_PER_RULE} random samples %s`, (place) => {
    const missed = samples.filter((s) => !found(embeddings[place](s), id))
    expect(missed).toEqual([])
  })

  it('ignores its near misses', () => {
    const misses = sample.nearMisses(new SampleRandom(seedOf(id) ^ 1))
    expect(misses.length).toBeGreaterThan(0)
    expect(misses.filter((m) => found(m, id))).toEqual([])
  })

  it('starts every match at most keywordLead characters before a keyword', () => {
    if (!p.keywords?.length) return
    const lead = p.keywordLead ?? 0
    for (const s of samples.slice(0, 50)) {
      const offsets = keywordOffsets(p, s)
      expect(offsets.length, s).toBeGreaterThan(0)
      for (const { start, matchIndex, keyword } of offsets) {
        expect(keyword, s).toBeGreaterThanOrEqual(start)
        expect(keyword - start, s).toBeLessThanOrEqual(lead)
        if (p.startsWithKeyword) expect(keyword, s).toBe(matchIndex)
      }
    }
  })
})
