/**
 * Tokens broken up by blanks inside one text: a true case and a near miss
 * for each way a token is cut, the pieces the search is made of, and how
 * often a catalog token with random gaps is found.
 */
import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { SampleRandom, SECRET_SAMPLES } from '../../../../fixtures/secret-samples.js'
import { CREDENTIAL_PATTERNS, findCredentials } from '../../../../sidecars/dlp/credential-patterns.js'
import { GAPS_CLOSED } from '../../../../sidecars/dlp/inspect-layers.js'
import { matchCharacters, maxMatchLength, withoutClosingLookaheads } from '../../../../sidecars/dlp/pattern-shape.js'
import { createScanner } from '../../../../sidecars/dlp/scanner.js'
import { closedWindow, compileGapPattern, gluesWords, looksLikeTokenBody, MAX_GAP, sourceOffset } from '../../../../sidecars/dlp/token-gaps.js'
import type { DlpFinding } from '../../../../sidecars/dlp/types.js'

const scanner = createScanner({})
const sample = (rule: string, seed: number) => (SECRET_SAMPLES[rule] as (typeof SECRET_SAMPLES)[string]).generate(new SampleRandom(seed))
const gh = sample('github-pat', 1)
const aws = sample('aws-access-key-id', 4)
const stripe = sample('stripe-secret-key', 2)
const anthropic = sample('anthropic-api-key', 3)
const rubygems = sample('rubygems-api-token', 5)
const secretOf: Record<string, string> = { 'github-pat': gh, 'aws-access-key-id': aws, 'stripe-secret-key': stripe, 'anthropic-api-key': anthropic, 'rubygems-api-token': rubygems }
/** `value` with `gap` inserted at each offset. */
const spaced = (value: string, at: readonly number[], gap: string) => [0, ...at].map((from, i) => value.slice(from, at[i] ?? value.length)).join(gap)
const chunked = (value: string, size: number, from: number) => spaced(value, Array.from({ length: Math.ceil((value.length - from) / size) - 1 }, (_, i) => from + (i + 1) * size), ' ')
const closedFindings = (findings: readonly DlpFinding[]) => findings.filter((f) => f.encoding?.split('+').includes(GAPS_CLOSED))
const textBody = (text: string) => {
  const verdict = scanner.scanBody({ contentType: 'text/plain', contentEncoding: undefined, body: new Uint8Array(Buffer.from(text)) })
  if (!verdict.ok) throw new Error(verdict.reason)
  return verdict.findings
}

describe('a token broken up by blanks is found with its gaps closed', () => {
  it.each([
    { name: 'a space inside a GitHub token', text: `the key is ${spaced(gh, [14], ' ')} for now`, rule: 'github-pat' },
    { name: 'a space right after the prefix', text: `use ${spaced(gh, [4], ' ')} please`, rule: 'github-pat' },
    { name: 'an AWS key id wrapped onto an indented line', text: `aws_access_key_id =\n    ${spaced(aws, [9], '\n    ')}\n`, rule: 'aws-access-key-id' },
    { name: 'a CRLF line break', text: `token:\r\n${spaced(gh, [20], '\r\n')}\r\n`, rule: 'github-pat' },
    { name: 'a tab', text: `key\t${spaced(stripe, [12], '\t')}\tend`, rule: 'stripe-secret-key' },
    { name: 'groups of four', text: `here: ${chunked(gh, 4, 4)} thanks`, rule: 'github-pat' },
    { name: 'a long key wrapped at 76 columns', text: `ANTHROPIC_API_KEY=\n${spaced(anthropic, [76], '\n')}\n`, rule: 'anthropic-api-key' },
    { name: 'a token whose keyword sits inside its prefix', text: `gem push with ${spaced(rubygems, [20], ' ')} now`, rule: 'rubygems-api-token' },
    { name: 'a gap of MAX_GAP blanks', text: `x ${spaced(gh, [10], ' '.repeat(MAX_GAP))} y`, rule: 'github-pat' },
  ])('$name', ({ text, rule }) => {
    const findings = scanner.scanText(text, 'body.text')
    expect(findings.map((f) => f.rule)).toEqual([rule])
    // The match spans the whole token, gaps included, and none of the words around it.
    const match = findCredentials(text).find((m) => m.gapsClosed)
    expect(text.slice(match?.index, (match?.index ?? 0) + (match?.length ?? 0)).replace(/\s+/g, '')).toBe(secretOf[rule])
  })

  it('through the layers: base64 of a wrapped token, a JSON string, a query value', () => {
    expect(closedFindings(textBody(Buffer.from(spaced(gh, [9], '\r\n    ')).toString('base64'))).map((f) => f.encoding)).toEqual([`base64+${GAPS_CLOSED}`])
    const json = scanner.scanBody({ contentType: 'application/json', contentEncoding: undefined, body: new Uint8Array(Buffer.from(JSON.stringify({ content: `key ${spaced(aws, [10], '\n')}\nend` }))) })
    expect(json.ok && json.findings).toEqual([{ rule: 'aws-access-key-id', location: 'body.json:$.content', encoding: GAPS_CLOSED }])
    expect(scanner.scanUrl(new URL(`https://x.example/?q=${encodeURIComponent(spaced(gh, [20], ' '))}`))).toEqual([
      { rule: 'github-pat', location: 'url.query:q', encoding: `url-encoded+${GAPS_CLOSED}` },
    ])
  })
})

describe('near misses: text around a prefix that is no token', () => {
  const wrongChecksum = `${gh.slice(0, -1)}${gh.endsWith('A') ? 'B' : 'A'}`
  const shortStripe = stripe.slice(0, stripe.indexOf('_', 3) + 20)
  it.each([
    { name: 'prose about prefixes', text: 'GitHub tokens start with ghp_ and hold 36 more characters; AWS key ids start with AKIA and hold 16.' },
    { name: 'prose after a Stripe prefix', text: 'Live keys start with sk_live_ followed by letters and digits, 24 or more of them in total.' },
    { name: 'Title Case words after a prefix', text: 'glcbt- Persistence Methods If the job fails, retry it.' },
    { name: 'camelCase names after a prefix', text: 'sk_prod_ Add EmbedderDataTypeTag to SetAlignedPointerInInternalField' },
    { name: 'a log line after a word that opens with a prefix', text: 'GET /api/v1/paths/32482 status=404 duration_ms=223 request_id=ef1c622d-d4a5-48ac-925c-2392bd2adb82' },
    { name: 'a gap longer than MAX_GAP', text: `x ${spaced(gh, [10], ' '.repeat(MAX_GAP + 1))} y` },
    { name: 'a gap inside the prefix', text: `x ${spaced(gh, [2], ' ')} y` },
    { name: 'a wrong checksum', text: `x ${spaced(wrongChecksum, [14], ' ')} y` },
    { name: 'a placeholder', text: 'aws_access_key_id = AKIAIOSFODNN7 EXAMPLE' },
    // A value one character short of a format, and the next line of the file after it.
    { name: 'the next line of an env file', text: `SERVICE_VALUE=${shortStripe}\nTIMEOUT_SECONDS=30\nWORKERS=4\n` },
    { name: 'the next key of a YAML map', text: `service:\n  value: ${shortStripe}\n  replicas: 2\n` },
    { name: 'a prefix inside a word', text: `task ${spaced('SK0123456789abcdef0123456789abcdef', [10], ' ')}`.replace(' SK', 'SK') },
  ])('$name', ({ text }) => {
    expect(closedFindings(scanner.scanText(text, 'body.text'))).toEqual([])
  })

  it('every prefix of the catalog put before the words of ordinary text finds nothing', () => {
    const prose = [
      'The build passed on the second try after we pinned the compiler to version 12 and cleared the cache.',
      'Add EmbedderDataTypeTag to SetAlignedPointerInInternalField, then rename NanNewBuffer to NanCopyBuffer.',
      'GET /api/v1/items/57364 status=304 duration_ms=798 user_agent="Mozilla/5.0 (X11; Linux x86_64)"',
      'Returns the Microsoft UNC path of the share when the host runs Windows Server 2019 or later.',
      'const result = await client.fetchProjects({ page: 2, perPage: 50, includeArchived: false })',
    ].join('\n')
    const words = prose.split(' ')
    const prefixes = [...new Set(CREDENTIAL_PATTERNS.flatMap((p) => compileGapPattern(p)?.prefixes ?? []))]
    const hits: string[] = []
    for (const prefix of prefixes) {
      for (let at = 0; at < words.length; at += 3) {
        const text = [...words.slice(0, at), prefix, ...words.slice(at)].join(' ')
        for (const f of closedFindings(scanner.scanText(text, 'x'))) hits.push(`${f.rule} before word ${at}`)
      }
    }
    expect(prefixes.length).toBeGreaterThan(100)
    expect(hits).toEqual([])
  })
})

describe('catalog tokens with random gaps', () => {
  // Formats with no prefix to start from: a keyword deep inside the token (OpenAI's legacy keys, Authress) or none (Discord bot tokens).
  const UNREACHABLE = new Set(['discord-bot-token', 'authress-service-client-access-key', 'openai-api-key'])
  const GAPS = [' ', '\n', '\r\n    ', '\t', '  ']

  it('are found at least 97 times in 100, for every prefixed format', () => {
    let tried = 0
    const missed = new Map<string, number>()
    for (const rule of Object.keys(SECRET_SAMPLES).sort()) {
      const pattern = CREDENTIAL_PATTERNS.find((p) => p.id === rule)
      if (!pattern || UNREACHABLE.has(rule)) continue
      for (let seed = 1; seed <= 40; seed++) {
        const rng = new SampleRandom(seed * 7919)
        const secret = sample(rule, seed)
        const plain = findCredentials(`x ${secret} y`)[0]
        // Formats found only by a name in context report a value that is not the whole sample.
        if (!plain || plain.index !== 2 || plain.length !== secret.length) continue
        // Gaps fall after the first keyword: one inside it is out of reach by design.
        const keywordEnd = Math.min(...(pattern.keywords ?? []).map((k) => [secret.toLowerCase().indexOf(k.toLowerCase()), k.length] as const).filter(([i]) => i >= 0).map(([i, n]) => i + n))
        if (!Number.isFinite(keywordEnd) || secret.length - keywordEnd < 4) continue
        const cuts = new Set<number>()
        const n = 1 + rng.int(3)
        while (cuts.size < n) cuts.add(keywordEnd + 1 + rng.int(secret.length - keywordEnd - 1))
        const text = `please send ${[...cuts].sort((a, b) => a - b).reduce((acc, cut, i, all) => acc + secret.slice(all[i - 1] ?? 0, cut) + rng.pick(GAPS), '')}${secret.slice(Math.max(...cuts))} to the server`
        tried++
        if (!findCredentials(text).some((m) => m.rule === rule && m.gapsClosed)) missed.set(rule, (missed.get(rule) ?? 0) + 1)
      }
    }
    const misses = [...missed.values()].reduce((a, b) => a + b, 0)
    expect(tried).toBeGreaterThan(3000)
    expect(misses / tried, `missed: ${JSON.stringify(Object.fromEntries(missed))}`).toBeLessThan(0.03)
  })
})

describe('closedWindow', () => {
  it('closes gaps, maps offsets back and stops at a long gap', () => {
    const text = 'ab cd\n  ef' + ' '.repeat(MAX_GAP + 1) + 'gh'
    const window = closedWindow(text, 0)
    expect(window?.text).toBe('abcdef')
    expect(window?.firstGap).toBe(2)
    expect(window?.cut).toBe(false)
    expect([0, 2, 4, 5].map((i) => sourceOffset(window as NonNullable<typeof window>, i))).toEqual([0, 3, 8, 9])
  })
  it('is undefined without a gap in reach, and cut at its reach', () => {
    expect(closedWindow('abcdef', 0)).toBeUndefined()
    expect(closedWindow('abcdef ghi', 0, 4)).toBeUndefined()
    const window = closedWindow('ab cd ef gh', 0, 5)
    expect(window?.text).toBe('abcde')
    expect(window?.cut).toBe(true)
  })
})

describe('looksLikeTokenBody and gluesWords', () => {
  it.each([
    { body: 'aB3xQ9zK2mP7wR4t', want: true },
    { body: 'IOSF7DNN2XAMPLE4', want: true },
    { body: 'c6fd4c2fdf8205998927d04b1a6dcf57', want: true },
    { body: 'tokenshave36characters', want: false },
    { body: 'DerivativeWorksthereof', want: false },
    { body: 'lineDownDoubleLeftRight', want: false },
    { body: 'keysstartwith2lettersand24chars', want: false },
  ])('looksLikeTokenBody($body) is $want', ({ body, want }) => {
    expect(looksLikeTokenBody(body, 0)).toBe(want)
  })

  it('a window of words is glued, a window of token pieces is not', () => {
    const words = closedWindow('glcbt- Persistence Methods If', 0) as NonNullable<ReturnType<typeof closedWindow>>
    expect(gluesWords(words, words.text.length)).toBe(true)
    const token = closedWindow(`${spaced(gh, [14, 27], ' ')}`, 0) as NonNullable<ReturnType<typeof closedWindow>>
    expect(gluesWords(token, token.text.length)).toBe(false)
    // Pieces of four never hold a word of five letters.
    const groups = closedWindow('ghp_ abcd efgh ijkl', 0) as NonNullable<ReturnType<typeof closedWindow>>
    expect(gluesWords(groups, groups.text.length)).toBe(false)
  })
})

describe('pattern shape', () => {
  it.each([
    { source: 'abc', want: 3 },
    { source: 'a{2,5}b', want: 6 },
    { source: '(?:x|yy)+', want: Infinity },
    { source: '(?<=ab)c\\b', want: 1 },
    { source: '[a-z\\]]{3}(?![0-9])', want: 3 },
    { source: '\\x41\\u0042{2}', want: 3 },
    { source: '(?<n>a)\\k<n>', want: Infinity },
    { source: '(?:ab|c)?d{0,2}', want: 4 },
  ])('maxMatchLength(/$source/) is $want', ({ source, want }) => {
    expect(maxMatchLength(source)).toBe(want)
  })

  const membersOf = (table: Uint8Array | undefined) => (table ? [...table].map((v, c) => (v ? String.fromCharCode(c) : '')).join('') : undefined)
  it.each([
    { source: 'pat[A-Z]{2}\\.[a-f0-9]', caseless: false, want: '.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefpt' },
    { source: '(?<![A-Za-z0-9_-])ab[+\\-/](?![xyz])', caseless: false, want: '+-/ab' },
    { source: '(?<name>q)\\x41\\d', caseless: true, want: '0123456789AQaq' },
    { source: 'a.b', caseless: false, want: undefined },
    { source: 'a[^b]', caseless: false, want: undefined },
    { source: 'a\\S', caseless: false, want: undefined },
  ])('matchCharacters(/$source/) holds $want', ({ source, caseless, want }) => {
    expect(membersOf(matchCharacters(source, caseless))).toBe(want)
  })

  it('every character of a catalog sample is one its pattern can consume', () => {
    for (const p of CREDENTIAL_PATTERNS) {
      const generate = SECRET_SAMPLES[p.id]
      const table = matchCharacters(p.pattern.source, p.pattern.flags.includes('i'))
      if (!generate || !table) continue
      const regex = new RegExp(p.pattern.source, p.pattern.flags.replace('g', ''))
      for (let seed = 0; seed < 20; seed++) {
        const match = regex.exec(generate.generate(new SampleRandom(seed)))?.[0] ?? ''
        expect([...match].filter((ch) => !(ch.charCodeAt(0) < 128 && table[ch.charCodeAt(0)] === 1)), p.id).toEqual([])
      }
    }
  })

  it('no catalog sample is longer than its pattern allows', () => {
    for (const p of CREDENTIAL_PATTERNS) {
      const generate = SECRET_SAMPLES[p.id]
      if (!generate) continue
      const longest = maxMatchLength(p.pattern.source)
      const regex = new RegExp(p.pattern.source, p.pattern.flags.replace('g', ''))
      for (let seed = 0; seed < 20; seed++) {
        const m = regex.exec(generate.generate(new SampleRandom(seed)))
        expect(m?.[0].length ?? 0, p.id).toBeLessThanOrEqual(longest)
      }
    }
  })

  it('without its closing lookaheads, a prefixed pattern matches its token with words glued after it', () => {
    expect(withoutClosingLookaheads('(?:a(?![x]))(?![y])|b(?!z)')).toBe('(?:a)|b')
    for (const p of CREDENTIAL_PATTERNS) {
      const gap = compileGapPattern(p)
      const generate = SECRET_SAMPLES[p.id]
      if (!gap || !generate || (p.keywordLead ?? 0) > 16) continue
      const secret = generate.generate(new SampleRandom(1))
      const at = new RegExp(p.pattern.source, p.pattern.flags.replace('g', '')).exec(secret)?.index
      if (at === undefined) continue
      gap.reach.lastIndex = at
      expect(gap.reach.exec(`${secret}Zq9glued`)?.index, p.id).toBe(at)
    }
  })
})
