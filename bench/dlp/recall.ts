/**
 * bottle's DLP engine side by side with secretlint (11.x, `lintSource` with
 * its recommended preset, the way its CLI runs by default) on the same
 * inputs, all generated at run time from fixed seeds:
 *
 * - recall: every rule of `fixtures/secret-samples.ts`, `--samples` random
 *   valid tokens each, embedded in a line of code, a config file or a JSON
 *   body (an LLM API request or a settings object), in turn. bottle reads
 *   them as a proxy does, with `scanBody` (text/plain for code and config,
 *   application/json for JSON); secretlint lints the same text.
 * - false positives: every rule's near misses, plus placeholders and
 *   look-alikes (documentation keys, masks, references, UUIDs, hashes,
 *   base64 of ordinary text, ordinary URLs, code and prose), in the same
 *   embeddings. A sample counts once if a tool reports anything for it.
 * - throughput: `--mib` MiB of mixed text (code, prose, JSON, logs, base64
 *   and hex blobs; no secrets), as one text/plain body and as one JSON
 *   request body, the contenders interleaved, medians of `--rounds` runs.
 *
 *   npm run build && npm run bench:dlp [-- --samples 50 --rounds 7 --mib 10 --seed 1 --rules]
 *
 * `--rules` prints the per-rule recall table too (long). Nothing generated
 * here is a real credential; nothing is written to disk.
 */
import { Buffer } from 'node:buffer'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { lintSource } from '@secretlint/core'
import { secretLintProfiler } from '@secretlint/profiler'
import { creator as secretlintRecommended } from '@secretlint/secretlint-rule-preset-recommend'
import { ALNUM, BASE64, BASE64URL, crcToken, HEX, LOWER, LOWER_ALNUM, SampleRandom, SECRET_SAMPLES, type SecretSample, UPPER_ALNUM } from '../../fixtures/secret-samples.js'
import { createScanner, type DlpFinding } from '../../sidecars/dlp/index.js'
import { median, printTable } from '../lib/stats.js'

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '7' },
    mib: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    rules: { type: 'boolean', default: false },
  },
})
const SAMPLES_PER_RULE = Number(args.samples)
const ROUNDS = Number(args.rounds)
const CORPUS_MIB = Number(args.mib)
const SEED = Number(args.seed)

const TARGET_OVERALL_RECALL = 0.95
const TARGET_SPEEDUP = 10
const TARGET_MIBPS = 15

// ---------------------------------------------------------------------------
// The contenders, behind one shape: does the tool report anything for this body?

type Embed = 'code' | 'config' | 'json'

/** One input as both tools get it: the text, and the content type a proxy would see. */
export interface Input {
  text: string
  contentType: 'text/plain' | 'application/json'
}

/** What secretlint's result messages are to this bench. */
interface SecretlintMessage {
  ruleId: string
  messageId: string
}

const scanner = createScanner({})
const encoder = new TextEncoder()

function bottleScan(input: Input): DlpFinding[] {
  const verdict = scanner.scanBody({ contentType: input.contentType, contentEncoding: undefined, body: encoder.encode(input.text) })
  // A body the engine cannot read is refused by the proxy: for recall and false positives alike, that is a report.
  return verdict.ok ? verdict.findings : [{ rule: `unreadable: ${verdict.reason}`, location: 'body' }]
}

const secretlintConfig = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: secretlintRecommended }] }

function secretlintLint(input: Input) {
  return lintSource({
    source: { content: input.text, filePath: input.contentType === 'application/json' ? 'body.json' : 'body.txt', contentType: 'text' },
    // noPhysicFilePath: nothing is read from disk (secretlint's PKCS#12 check would read the file by path).
    options: { config: secretlintConfig, noPhysicFilePath: true },
  })
}

/**
 * secretlint's profiler keeps every performance mark of every lintSource
 * call of the process (36 per call) and searches them linearly for each new
 * one: thousands of calls in one process grow quadratically (seconds of CPU
 * after a few thousand). Its CLI pays that per file; a benchmark of its
 * scanning should not, so the marks are dropped after each call, untimed:
 * once its observer has seen them and its pending measures have run.
 */
async function settleSecretlint(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve))
  ;(await secretLintProfiler.getEntries()).length = 0
  ;(await secretLintProfiler.getMeasures()).length = 0
  performance.clearMarks()
  performance.clearMeasures()
}

async function secretlintScan(input: Input): Promise<SecretlintMessage[]> {
  const result = await secretlintLint(input)
  await settleSecretlint()
  return result.messages.map((m) => ({ ruleId: m.ruleId.replace(/^@secretlint\/secretlint-rule-/, ''), messageId: m.messageId }))
}

// ---------------------------------------------------------------------------
// Embedding a sample in realistic text

/** A token on its own (no spaces, quotes or `name=`): it gets a neutral name around it. Anything else is a line of its own. */
function isBare(sample: string): boolean {
  return /^[^\s'"<>]+$/.test(sample) && !/^[A-Za-z_][\w.-]{0,40}(?:=|:=)/.test(sample)
}

/** Names that no tool's context rule reads as secret-sounding, so a finding is the format's own. */
const CODE_SHAPES: readonly { before: string; bare: (t: string) => string; after: string }[] = [
  {
    before: "import { Client } from './client.js'\nimport { logger } from './log.js'\n\nexport function connect(region: string): Client {",
    bare: (t) => `  const value = '${t}'`,
    after: "  logger.info({ region }, 'connecting')\n  return new Client({ region, value, retries: 3 })\n}",
  },
  {
    before: 'import os\nimport requests\n\n\ndef fetch_items(session, page=1):',
    bare: (t) => `    value = "${t}"`,
    after: "    resp = session.get(f'https://api.example.com/v1/items?page={page}', timeout=10)\n    resp.raise_for_status()\n    return resp.json()",
  },
  {
    before: 'package main\n\nimport (\n\t"context"\n\t"fmt"\n)\n\nfunc run(ctx context.Context) error {',
    bare: (t) => `\tvalue := "${t}"`,
    after: '\tfmt.Println("starting worker", len(value))\n\treturn nil\n}',
  },
]

const CONFIG_SHAPES: readonly { before: string; bare: (t: string) => string; after: string }[] = [
  { before: '# service settings\nREGION=us-east-1\nLOG_LEVEL=info', bare: (t) => `SERVICE_VALUE=${t}`, after: 'TIMEOUT_SECONDS=30\nWORKERS=4' },
  { before: 'service:\n  name: billing\n  region: eu-west-1', bare: (t) => `  value: ${t}`, after: '  replicas: 2\n  timeout: 30s' },
  { before: '[server]\nhost = 0.0.0.0\nport = 8080', bare: (t) => `value = ${t}`, after: '[logging]\nlevel = debug' },
]

function embed(sample: string, where: Embed, rng: SampleRandom): Input {
  if (where === 'json') {
    const body =
      rng.int(2) === 0
        ? { model: 'claude-sonnet', max_tokens: 1024, messages: [{ role: 'user', content: `Here is the setup I use, why does the deploy fail?\n\n${sample}\n\nThanks!` }] }
        : { id: rng.between(1, 9999), name: 'billing', region: 'us-east-1', value: sample, enabled: true, tags: ['prod', 'eu'] }
    return { text: JSON.stringify(body), contentType: 'application/json' }
  }
  const shape = rng.pick(where === 'code' ? CODE_SHAPES : CONFIG_SHAPES)
  return { text: `${shape.before}\n${isBare(sample) ? shape.bare(sample) : sample}\n${shape.after}\n`, contentType: 'text/plain' }
}

function placesOf(sample: SecretSample): Embed[] {
  const allowed = sample.embeds ?? ['text', 'json']
  return (['code', 'config', 'json'] as const).filter((e) => allowed.includes(e === 'json' ? 'json' : 'text'))
}

/** Seeded per rule, so one rule's samples do not move when rules are added. */
function seedOf(id: string): number {
  let h = 0x811c9dc5 ^ SEED
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * A sample's shape for reports, never the sample: token-like runs (9+
 * characters mixing letters and digits, or 16+ mixing cases, or 24+ of
 * anything) keep their first 4 characters and become a character class and
 * a length; names such as `NETLIFY_AUTH_TOKEN` stay as they are; newlines
 * are shown as ⏎; long shapes are cut.
 */
function shape(text: string): string {
  const tokenLike = (run: string) =>
    (/[0-9]/.test(run) && /[A-Za-z]/.test(run)) || (/[A-Z]/.test(run) && /[a-z]/.test(run) && run.length >= 16) || run.length >= 24
  const out = text.replace(/[A-Za-z0-9+/_-]{9,}={0,2}/g, (run) => {
    if (!tokenLike(run.replace(/=+$/, ''))) return run
    const rest = run.slice(4)
    const classes = [/[A-Z]/.test(rest) && 'A-Z', /[a-z]/.test(rest) && 'a-z', /[0-9]/.test(rest) && '0-9', /[+/=]/.test(rest) && '+/=', /[_-]/.test(rest) && '_-'].filter(Boolean).join('')
    return `${run.slice(0, 4)}[${classes}]{${rest.length}}`
  })
  const flat = out.replace(/\n/g, '⏎')
  return flat.length > 150 ? `${flat.slice(0, 147)}...` : flat
}

// ---------------------------------------------------------------------------
// Recall

/**
 * What recall is measured on: every rule of the catalog with its fixture
 * generator, plus the bench's own samples where the fixture draws a shape
 * no real credential has and a competitor checks it: the fixture's PEM
 * private keys have random base64 bodies, while a real key's DER (or
 * OpenSSH) body starts `MI` (or `b3BlbnNzaC1rZXktdjE`), which secretlint
 * requires. Those samples count under the family like any other.
 */
interface RecallSet {
  label: string
  /** The bottle rule that should find it. */
  rule: string
  sample: SecretSample
}

function realisticPrivateKey(rng: SampleRandom): string {
  const kind = rng.pick(['RSA ', 'EC ', '', 'ENCRYPTED ', 'OPENSSH '])
  const length = rng.between(120, 1200)
  const body =
    kind === 'OPENSSH '
      ? Buffer.concat([Buffer.from('openssh-key-v1\0'), rng.bytes(length)])
      : Buffer.concat([Buffer.from([0x30, 0x82, length >> 8, length & 0xff]), rng.bytes(length)])
  return `-----BEGIN ${kind}PRIVATE KEY-----\n${(body.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${kind}PRIVATE KEY-----`
}

function recallSets(): RecallSet[] {
  const sets: RecallSet[] = Object.entries(SECRET_SAMPLES).map(([rule, sample]) => ({ label: rule, rule, sample }))
  sets.push({ label: 'private-key (DER body, bench)', rule: 'private-key', sample: { family: 'Private keys', gitleaks: [], generate: realisticPrivateKey, nearMisses: () => [] } })
  return sets
}

interface RuleRecall {
  rule: string
  family: string
  n: number
  bottle: number
  bottleOwn: number
  secretlint: number
  secretlintRules: Set<string>
  byEmbed: Record<Embed, { n: number; bottle: number; secretlint: number }>
  /** Samples bottle missed, with whether secretlint found them. */
  bottleMisses: { embed: Embed; sample: string; secretlintFound: boolean }[]
}

async function recall(): Promise<RuleRecall[]> {
  const out: RuleRecall[] = []
  for (const { label, rule, sample } of recallSets()) {
    const rng = new SampleRandom(seedOf(label))
    const places = placesOf(sample)
    const r: RuleRecall = {
      rule: label,
      family: sample.family,
      n: 0,
      bottle: 0,
      bottleOwn: 0,
      secretlint: 0,
      secretlintRules: new Set(),
      byEmbed: { code: { n: 0, bottle: 0, secretlint: 0 }, config: { n: 0, bottle: 0, secretlint: 0 }, json: { n: 0, bottle: 0, secretlint: 0 } },
      bottleMisses: [],
    }
    for (let i = 0; i < SAMPLES_PER_RULE; i++) {
      const token = sample.generate(rng)
      const where = places[i % places.length] as Embed
      const input = embed(token, where, rng)
      const b = bottleScan(input)
      const s = await secretlintScan(input)
      r.n++
      r.byEmbed[where].n++
      if (b.length > 0) {
        r.bottle++
        r.byEmbed[where].bottle++
      }
      if (b.some((f) => f.rule === rule)) r.bottleOwn++
      if (s.length > 0) {
        r.secretlint++
        r.byEmbed[where].secretlint++
        for (const m of s) r.secretlintRules.add(m.ruleId)
      }
      if (b.length === 0) r.bottleMisses.push({ embed: where, sample: token, secretlintFound: s.length > 0 })
    }
    out.push(r)
  }
  return out
}

// ---------------------------------------------------------------------------
// False positives: near misses, placeholders and look-alikes

interface NotASecret {
  source: string
  /** The rule whose near miss this is. */
  rule: string | undefined
  sample: string
  /** Where it is embedded, and the seed of the text around it: per source, so one source's results do not move when the catalog grows. */
  where: Embed
  seed: number
}

function uuid(rng: SampleRandom): string {
  const h = (n: number) => rng.string(HEX, n)
  return `${h(8)}-${h(4)}-4${h(3)}-${rng.pick(['8', '9', 'a', 'b'])}${h(3)}-${h(12)}`
}

const PROSE = [
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.',
  'The deploy failed because the migration ran before the new column existed; rerun it after the schema change lands.',
  'Use a personal access token with the repo scope, store it in your secret manager, and never paste it into an issue.',
  'Tokens expire after one hour; the client refreshes them with the refresh_token grant before each batch.',
  'We rotated every API key last week, so the old values in the runbook no longer work.',
]

/** Each entry: a category and a generator; random ones are drawn several times. */
const LOOK_ALIKES: readonly [string, (rng: SampleRandom) => string][] = [
  // Documentation keys (AWS publishes these; built here so no literal in this file looks like a key).
  ['aws docs example', () => `aws_access_key_id = ${'AKIAIOSFODNN7'}${'EXAMPLE'}`],
  ['aws docs example', () => `aws_secret_access_key = ${'wJalrXUtnFEMI/K7MDENG/bPxRfiCY'}${'EXAMPLEKEY'}`],
  ['aws docs example', () => `AWS_ACCESS_KEY_ID=${'AKIAI44QH8DHB'}${'EXAMPLE'}`],
  ['aws docs example', () => `AWS_SECRET_ACCESS_KEY=${'je7MtGbClwBF/2Zp9Utk/h3yCo8nvb'}${'EXAMPLEKEY'}`],
  ['aws docs example', () => `"AccessKeyId": "${'ASIAIOSFODNN7'}${'EXAMPLE'}"`],
  // Masks: x/X/0/* runs, bare and behind a provider's prefix.
  ['mask', () => `ghp_${'x'.repeat(36)}`],
  ['mask', () => `AKIA${'X'.repeat(16)}`],
  ['mask', () => `sk_live_${'0'.repeat(24)}`],
  ['mask', () => `xoxb-${'0'.repeat(12)}-${'0'.repeat(13)}-${'x'.repeat(24)}`],
  ['mask', () => `sk-ant-api03-${'X'.repeat(93)}AA`],
  ['mask', () => `sk-proj-${'x'.repeat(40)}`],
  ['mask', () => `glpat-${'x'.repeat(20)}`],
  ['mask', () => `api_key: "${'*'.repeat(16)}"`],
  ['mask', () => `password=${'*'.repeat(8)}`],
  ['mask', () => `token: ${'x'.repeat(32)}`],
  ['mask', () => `client_secret = ${'X'.repeat(40)}`],
  ['mask', () => `Authorization: Bearer ${'*'.repeat(20)}`],
  ['mask', () => `SECRET_KEY=${'0'.repeat(32)}`],
  ['mask', () => `-----BEGIN RSA PRIVATE KEY-----\n${'X'.repeat(64)}\n${'X'.repeat(64)}\n-----END RSA PRIVATE KEY-----`],
  ['mask', () => `https://hooks.slack.com/services/T00000000/B00000000/${'X'.repeat(24)}`],
  // Redacted values.
  ['redacted', () => 'password: [REDACTED]'],
  ['redacted', () => 'api_key = "<redacted>"'],
  ['redacted', () => 'Authorization: Bearer REDACTED'],
  ['redacted', () => 'token=***REDACTED***'],
  ['redacted', () => 'GITHUB_TOKEN=ghp_REDACTED'],
  ['redacted', () => 'client_secret: redacted-for-security'],
  // "your token here".
  ['your-token-here', () => 'GITHUB_TOKEN=your-token-here'],
  ['your-token-here', () => 'api_key = "your_api_key_here"'],
  ['your-token-here', () => 'OPENAI_API_KEY=sk-your-key-here'],
  ['your-token-here', () => 'SLACK_BOT_TOKEN=xoxb-your-bot-token'],
  ['your-token-here', () => 'STRIPE_SECRET_KEY=sk_test_your_secret_key_here'],
  ['your-token-here', () => '"token": "YOUR_TOKEN"'],
  ['your-token-here', () => 'password: changeme'],
  ['your-token-here', () => 'client_secret: insert-your-client-secret-here'],
  // Templates.
  ['<token>', () => 'Authorization: Bearer <token>'],
  ['<token>', () => "curl -H 'Authorization: token <YOUR_TOKEN>' https://api.github.com/user"],
  ['<token>', () => 'password=<password>'],
  ['<token>', () => 'mytool login --api-key <API_KEY>'],
  ['<token>', () => 'postgres://<user>:<password>@db.internal:5432/app'],
  // References.
  ['${TOKEN}', () => 'GITHUB_TOKEN=${GITHUB_TOKEN}'],
  ['${TOKEN}', () => 'token: ${{ secrets.NPM_TOKEN }}'],
  ['${TOKEN}', () => 'password: {{ .Values.db.password }}'],
  ['${TOKEN}', () => 'api_key = os.environ["API_KEY"]'],
  ['${TOKEN}', () => 'const token = process.env.GITHUB_TOKEN'],
  ['${TOKEN}', () => 'DB_PASSWORD=$(cat /run/secrets/db_password)'],
  ['${TOKEN}', () => 'https://user:${PASSWORD}@registry.example.com/v2/'],
  ['${TOKEN}', () => '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />'],
  // Identifiers and hashes.
  ['uuid', (rng) => `request_id: ${uuid(rng)}`],
  ['uuid', (rng) => `X-Request-Id: ${uuid(rng)}`],
  ['uuid', (rng) => `"deviceId": "${uuid(rng)}"`],
  ['uuid', (rng) => `client_id = ${uuid(rng)}`],
  ['git sha', (rng) => `commit ${rng.string(HEX, 40)}`],
  ['git sha', (rng) => `uses: actions/checkout@${rng.string(HEX, 40)}`],
  ['git sha', (rng) => `"sha": "${rng.string(HEX, 40)}"`],
  ['git sha', (rng) => `git cherry-pick ${rng.string(HEX, 40)}`],
  ['sha256 hex', (rng) => `image: nginx@sha256:${rng.string(HEX, 64)}`],
  ['sha256 hex', (rng) => `${rng.string(HEX, 64)}  dist/app-linux-amd64.tar.gz`],
  ['sha256 hex', (rng) => `checksum = "${rng.string(HEX, 64)}"`],
  ['sha256 hex', (rng) => `"integrity": "sha512-${rng.string(BASE64, 86)}=="`],
  ['sha256 hex', (rng) => `github.com/acme/lib v1.4.2 h1:${rng.string(BASE64, 43)}=`],
  // base64 of ordinary text.
  ['base64 text', (rng) => `data:text/plain;base64,${Buffer.from(rng.pick(PROSE)).toString('base64')}`],
  ['base64 text', (rng) => `"content": "${Buffer.from(`export function add(a: number, b: number): number {\n  return a + b\n}\n// ${rng.pick(PROSE)}`).toString('base64')}"`],
  ['base64 text', (rng) => `echo ${Buffer.from(rng.pick(PROSE)).toString('base64')} | base64 -d`],
  ['base64 text', (rng) => `Content-Transfer-Encoding: base64\n\n${(Buffer.from(`${rng.pick(PROSE)} ${rng.pick(PROSE)}`).toString('base64').match(/.{1,76}/g) ?? []).join('\n')}`],
  // Ordinary URLs.
  ['url', () => 'https://www.example.com/search?q=typescript+generics&page=2&sort=desc'],
  ['url', (rng) => `https://shop.example.com/p/${rng.between(100, 99999)}?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale`],
  ['url', (rng) => `https://www.youtube.com/watch?v=${rng.string(BASE64URL, 11)}&t=42s`],
  ['url', (rng) => `https://api.example.com/v1/items?limit=50&cursor=${rng.string(BASE64URL, 24)}`],
  ['url', (rng) => `https://github.com/acme/app/compare/${rng.string(HEX, 40)}...${rng.string(HEX, 40)}`],
  ['url', (rng) => `https://cdn.example.com/assets/main.${rng.string(HEX, 8)}.js?v=${rng.string(LOWER_ALNUM, 10)}`],
  // Code and prose.
  ['code/prose', () => 'const token = await getToken(scope)'],
  ['code/prose', () => "if (!apiKey) throw new Error('missing API key')"],
  ['code/prose', () => 'password: string'],
  ['code/prose', () => 'def get_secret(name: str) -> str:'],
  ['code/prose', () => 'secretName: my-app-secret'],
  ['code/prose', () => 'let accessToken: string | undefined = undefined'],
  ['code/prose', () => '"password": ""'],
  ['code/prose', () => 'password_file = /run/secrets/db'],
  ['code/prose', (rng) => rng.pick(PROSE)],
  ['code/prose', (rng) => `ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ${rng.string(BASE64, 300)} dev@laptop`],
  ['code/prose', (rng) => `-----BEGIN CERTIFICATE-----\n${Array.from({ length: 6 }, () => rng.string(BASE64, 64)).join('\n')}\n-----END CERTIFICATE-----`],
  ['code/prose', (rng) => `-----BEGIN PUBLIC KEY-----\n${Array.from({ length: 4 }, () => rng.string(BASE64, 64)).join('\n')}\n-----END PUBLIC KEY-----`],
  ['code/prose', (rng) => `.${rng.string(LOWER, 6)}_${rng.string(BASE64URL, 5)} { color: #${rng.string(HEX, 6)}; }`],
]
/** Draws of each random look-alike (constant ones are kept once). */
const LOOK_ALIKE_DRAWS = 5
const NEAR_MISS_DRAWS = 3

function notSecrets(): NotASecret[] {
  const seen = new Set<string>()
  const counts = new Map<string, number>()
  const out: NotASecret[] = []
  const add = (source: string, rule: string | undefined, sample: string) => {
    if (seen.has(`${source}\0${sample}`)) return
    seen.add(`${source}\0${sample}`)
    const n = counts.get(source) ?? 0
    counts.set(source, n + 1)
    const places = rule ? placesOf(SECRET_SAMPLES[rule] as SecretSample) : (['code', 'config', 'json'] as const)
    out.push({ source, rule, sample, where: places[n % places.length] as Embed, seed: (seedOf(source) + n) >>> 0 })
  }
  for (const [rule, sample] of Object.entries(SECRET_SAMPLES)) {
    const rng = new SampleRandom(seedOf(rule) ^ 0x5eed)
    for (let d = 0; d < NEAR_MISS_DRAWS; d++) for (const m of sample.nearMisses(rng)) add(`near miss: ${rule}`, rule, m)
  }
  const rng = new SampleRandom(SEED ^ 0x10a1)
  for (const [category, make] of LOOK_ALIKES) for (let d = 0; d < LOOK_ALIKE_DRAWS; d++) add(category, undefined, make(rng))
  return out
}

interface FalsePositive {
  source: string
  /** For a near miss, whether its own rule reported it (rather than another rule only). */
  ownRule: boolean
  embed: Embed
  sample: string
  rules: string[]
}

interface FpResult {
  total: number
  byCategory: Map<string, { n: number; bottle: number; bottleOwn: number; secretlint: number }>
  bottle: FalsePositive[]
  secretlint: FalsePositive[]
}

async function falsePositives(): Promise<FpResult> {
  const corpus = notSecrets()
  const result: FpResult = { total: corpus.length, byCategory: new Map(), bottle: [], secretlint: [] }
  for (const { source, rule, sample, where, seed } of corpus) {
    const input = embed(sample, where, new SampleRandom(seed))
    const b = bottleScan(input)
    const s = await secretlintScan(input)
    const category = rule ? 'near misses' : source
    const c = result.byCategory.get(category) ?? { n: 0, bottle: 0, bottleOwn: 0, secretlint: 0 }
    c.n++
    if (b.length > 0) {
      const ownRule = b.some((f) => f.rule === rule)
      c.bottle++
      if (ownRule) c.bottleOwn++
      result.bottle.push({ source, ownRule, embed: where, sample, rules: [...new Set(b.map((f) => `${f.rule}${f.location.endsWith('(joined)') ? ' (joined)' : ''}`))] })
    }
    if (s.length > 0) {
      c.secretlint++
      result.secretlint.push({ source, ownRule: false, embed: where, sample, rules: [...new Set(s.map((m) => `${m.ruleId}/${m.messageId}`))] })
    }
    result.byCategory.set(category, c)
  }
  return result
}

// ---------------------------------------------------------------------------
// Throughput corpus: mixed text without secrets

const IDENT = ['user', 'order', 'item', 'config', 'request', 'response', 'cache', 'queue', 'worker', 'session', 'file', 'path', 'buffer', 'result', 'error', 'count', 'index', 'handler', 'client', 'server', 'invoice', 'account', 'report', 'metric']
const WORDS = ['the', 'agent', 'builds', 'a', 'small', 'change', 'and', 'runs', 'tests', 'before', 'it', 'opens', 'proposal', 'review', 'of', 'branch', 'with', 'deploy', 'logs', 'show', 'that', 'database', 'migration', 'failed', 'because', 'column', 'missing', 'we', 'retry', 'later', 'café', 'naïve', '—', 'résumé']

function camel(rng: SampleRandom): string {
  const a = rng.pick(IDENT)
  const b = rng.pick(IDENT)
  return `${a}${b[0]?.toUpperCase()}${b.slice(1)}`
}

function sentence(rng: SampleRandom): string {
  const n = rng.between(8, 20)
  const words = Array.from({ length: n }, () => rng.pick(WORDS))
  const s = words.join(' ')
  return `${s[0]?.toUpperCase()}${s.slice(1)}.`
}

function codeChunk(rng: SampleRandom): string {
  const fn = camel(rng)
  const x = rng.pick(IDENT)
  const lines = [
    `export async function ${fn}(${x}: ${rng.pick(['string', 'number', 'Request', 'Buffer'])}, options: Options = {}): Promise<${rng.pick(['void', 'Result', 'string[]'])}> {`,
    `  const ${camel(rng)} = await this.${rng.pick(IDENT)}Store.get(${x}, { timeout: ${rng.between(100, 5000)} })`,
    `  if (!${x}) throw new Error(\`${rng.pick(IDENT)} not found: \${${x}}\`)`,
    `  for (const [${rng.pick(IDENT)}, value] of Object.entries(options)) {`,
    `    logger.debug({ ${rng.pick(IDENT)}, value }, '${sentence(rng).toLowerCase().slice(0, 40)}')`,
    '  }',
    `  return ${rng.pick(IDENT)}s.filter((e) => e.${rng.pick(IDENT)}Id === ${x}.id).map(String)`,
    '}',
    '',
    `def ${rng.pick(IDENT)}_${rng.pick(IDENT)}(self, ${rng.pick(IDENT)}, limit=${rng.between(1, 500)}):`,
    `    """${sentence(rng)}"""`,
    `    rows = self.db.execute("SELECT id, name FROM ${rng.pick(IDENT)}s WHERE created_at > %s LIMIT %s", (since, limit))`,
    `    return [${rng.pick(IDENT)}.to_dict() for ${rng.pick(IDENT)} in rows]`,
    '',
  ]
  return lines.join('\n')
}

function logChunk(rng: SampleRandom): string {
  const lines: string[] = []
  for (let i = 0; i < rng.between(5, 20); i++) {
    const t = new Date(1_735_689_600_000 + rng.int(86_400_000)).toISOString()
    lines.push(
      `${t} ${rng.pick(['INFO', 'DEBUG', 'WARN', 'ERROR'])} [${rng.pick(IDENT)}-${rng.between(0, 9)}] ${rng.pick(['GET', 'POST', 'PUT'])} /api/v1/${rng.pick(IDENT)}s/${rng.between(1, 99999)} status=${rng.pick([200, 201, 204, 304, 404, 500])} duration_ms=${rng.between(1, 900)} request_id=${uuid(rng)} user_agent="Mozilla/5.0 (X11; Linux x86_64)"`,
    )
  }
  return lines.join('\n')
}

function jsonChunk(rng: SampleRandom): string {
  const rows = Array.from({ length: rng.between(3, 12) }, () => ({
    id: rng.between(1, 1_000_000),
    name: `${rng.pick(IDENT)}-${rng.between(1, 999)}`,
    url: `https://api.example.com/v1/${rng.pick(IDENT)}s/${rng.between(1, 9999)}?include=${rng.pick(IDENT)}`,
    created: new Date(1_735_689_600_000 + rng.int(86_400_000 * 30)).toISOString(),
    price: rng.between(0, 100_000) / 100,
    tags: [rng.pick(IDENT), rng.pick(IDENT)],
    ok: rng.int(2) === 0,
    note: sentence(rng),
  }))
  return JSON.stringify({ data: rows, page: rng.between(1, 40), total: rng.between(100, 9000) }, null, rng.int(2) === 0 ? 2 : undefined)
}

function base64Chunk(rng: SampleRandom): string {
  const b64 = rng.bytes(rng.between(512, 6144)).toString('base64')
  return rng.int(2) === 0 ? `data:image/png;base64,${b64}` : `Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n${(b64.match(/.{1,76}/g) ?? []).join('\n')}`
}

function hexChunk(rng: SampleRandom): string {
  if (rng.int(2) === 0) return Array.from({ length: rng.between(4, 16) }, () => `${rng.string(HEX, 64)}  dist/${rng.pick(IDENT)}-${rng.between(1, 9)}.${rng.pick(['js', 'map', 'wasm'])}`).join('\n')
  return Array.from({ length: rng.between(8, 32) }, (_, i) => `${(i * 16).toString(16).padStart(8, '0')}: ${Array.from({ length: 8 }, () => rng.string(HEX, 4)).join(' ')}`).join('\n')
}

function proseChunk(rng: SampleRandom): string {
  return Array.from({ length: rng.between(3, 9) }, () => sentence(rng)).join(' ')
}

/** Chunks of mixed text totalling about `bytes` UTF-8 bytes: code 35%, prose 20%, logs 20%, JSON 15%, base64 5%, hex 5%. */
function mixedChunks(rng: SampleRandom, bytes: number): string[] {
  const kinds: [number, (r: SampleRandom) => string][] = [
    [35, codeChunk],
    [20, proseChunk],
    [20, logChunk],
    [15, jsonChunk],
    [5, base64Chunk],
    [5, hexChunk],
  ]
  const chunks: string[] = []
  let size = 0
  while (size < bytes) {
    let roll = rng.int(100)
    let make = codeChunk
    for (const [weight, k] of kinds) {
      if (roll < weight) {
        make = k
        break
      }
      roll -= weight
    }
    const c = make(rng)
    chunks.push(c)
    size += Buffer.byteLength(c) + 2
  }
  return chunks
}

export interface Corpus {
  label: string
  input: Input
  bytes: Uint8Array
}

export function throughputCorpora(): Corpus[] {
  const target = CORPUS_MIB * 1024 * 1024
  const chunks = mixedChunks(new SampleRandom(SEED ^ 0x7e47), target)
  let text = chunks.join('\n\n')
  text = Buffer.from(text).subarray(0, target).toString('utf8').replace(/\uFFFD$/, '')
  // The JSON variant: the same chunks as an LLM API request, grown until it is as large.
  const messages: { role: string; content: string }[] = []
  let jsonSize = 40
  for (let i = 0; jsonSize < target; i++) {
    const content = chunks[i % chunks.length] as string
    messages.push({ role: i % 2 ? 'assistant' : 'user', content })
    jsonSize += Buffer.byteLength(JSON.stringify(content)) + 32
  }
  const json = JSON.stringify({ model: 'claude-sonnet', max_tokens: 4096, messages })
  return [
    { label: 'text/plain', input: { text, contentType: 'text/plain' }, bytes: encoder.encode(text) },
    { label: 'application/json', input: { text: json, contentType: 'application/json' }, bytes: encoder.encode(json) },
  ]
}

interface Throughput {
  label: string
  mib: number
  bottle: number[]
  secretlint: number[]
  bottleFindings: string[]
  secretlintFindings: string[]
}

async function throughput(): Promise<Throughput[]> {
  const corpora = throughputCorpora()
  const out: Throughput[] = corpora.map((c) => ({ label: c.label, mib: c.bytes.byteLength / 1024 / 1024, bottle: [], secretlint: [], bottleFindings: [], secretlintFindings: [] }))
  const runBottle = (c: Corpus) => {
    const verdict = scanner.scanBody({ contentType: c.input.contentType, contentEncoding: undefined, body: c.bytes })
    return verdict.ok ? verdict.findings.map((f) => `${f.rule} @ ${f.location}`) : [`unreadable: ${verdict.reason}`]
  }
  const runSecretlint = async (c: Corpus) => (await secretlintScan(c.input)).map((m) => `${m.ruleId}/${m.messageId}`)
  // Warm-up, and what each tool reports on a corpus that holds no secret.
  for (const [i, c] of corpora.entries()) {
    const r = out[i] as Throughput
    r.bottleFindings = runBottle(c)
    r.secretlintFindings = await runSecretlint(c)
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, c] of corpora.entries()) {
      const r = out[i] as Throughput
      const timeBottle = () => {
        const start = performance.now()
        runBottle(c)
        r.bottle.push(r.mib / ((performance.now() - start) / 1000))
      }
      const timeSecretlint = async () => {
        const start = performance.now()
        await secretlintLint(c.input)
        r.secretlint.push(r.mib / ((performance.now() - start) / 1000))
        await settleSecretlint()
      }
      // Alternate who goes first, so neither always runs on a warmer heap.
      if ((round + i) % 2 === 0) {
        timeBottle()
        await timeSecretlint()
      } else {
        await timeSecretlint()
        timeBottle()
      }
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// Sanity: a misconfigured competitor would make every ratio meaningless.

async function sanity(): Promise<void> {
  const rng = new SampleRandom(SEED ^ 0x5a17)
  const canaries: [string, string][] = [
    ['GitHub PAT', crcToken(rng, 'ghp_')],
    ['private key', realisticPrivateKey(rng)],
    ['Slack webhook', `https://hooks.slack.com/services/T${rng.string(UPPER_ALNUM, 8)}/B${rng.string(UPPER_ALNUM, 8)}/${rng.string(ALNUM, 24)}`],
    ['npm token', crcToken(rng, 'npm_')],
    ['basic auth URL', `https://deploy:${rng.string(ALNUM, 16)}@registry.internal.example.com/v2/`],
  ]
  const found: string[] = []
  for (const [name, token] of canaries) {
    const messages = await secretlintScan(embed(token, 'config', rng))
    if (messages.length > 0) found.push(name)
  }
  console.log(`secretlint sanity: ${found.length}/${canaries.length} canaries found (${found.join(', ')})`)
  if (found.length < canaries.length - 1) throw new Error('secretlint finds almost none of its own formats: its configuration is broken, and the comparison would be meaningless')
}

// ---------------------------------------------------------------------------

const pct = (n: number, d: number) => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`)
const ratio = (n: number, d: number) => (d === 0 ? 0 : n / d)

async function main(): Promise<void> {
  const started = performance.now()
  console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(`bottle: createScanner().scanBody (text/plain for code and config, application/json for JSON); secretlint ${secretlintVersion()}: lintSource + @secretlint/secretlint-rule-preset-recommend (defaults)`)
  console.log(`seed ${SEED}, ${SAMPLES_PER_RULE} samples per rule, ${Object.keys(SECRET_SAMPLES).length} rules, ${ROUNDS} throughput rounds on ${CORPUS_MIB} MiB\n`)
  await sanity()
  // Throughput first, on a fresh heap; printed after the recall tables.
  const tp = await throughput()

  // Recall ------------------------------------------------------------------
  const rules = await recall()
  const families = new Map<string, { rules: number; n: number; bottle: number; secretlint: number }>()
  for (const r of rules) {
    const f = families.get(r.family) ?? { rules: 0, n: 0, bottle: 0, secretlint: 0 }
    f.rules++
    f.n += r.n
    f.bottle += r.bottle
    f.secretlint += r.secretlint
    families.set(r.family, f)
  }
  const total = rules.reduce((a, r) => ({ n: a.n + r.n, bottle: a.bottle + r.bottle, own: a.own + r.bottleOwn, secretlint: a.secretlint + r.secretlint }), { n: 0, bottle: 0, own: 0, secretlint: 0 })
  console.log(`secretlint sanity: it flags ${total.secretlint} of ${total.n} recall samples\n`)

  if (args.rules) {
    console.log('Recall per rule')
    printTable(
      ['rule', 'family', 'n', 'bottle', 'bottle (own rule)', 'secretlint', 'secretlint rules'],
      rules.map((r) => [r.rule, r.family, r.n, pct(r.bottle, r.n), pct(r.bottleOwn, r.n), pct(r.secretlint, r.n), [...r.secretlintRules].join(',')]),
    )
    console.log()
  }

  console.log('Recall per family (a family both cover: secretlint finds at least one of its samples)')
  const belowSecretlint: string[] = []
  const familyRows: (string | number)[][] = []
  for (const [family, f] of families) {
    const both = f.secretlint > 0
    const ok = !both || f.bottle / f.n >= f.secretlint / f.n
    if (!ok) belowSecretlint.push(family)
    familyRows.push([family, f.rules, f.n, pct(f.bottle, f.n), pct(f.secretlint, f.n), both ? 'yes' : '', both ? (ok ? 'ok' : 'BELOW') : ''])
  }
  printTable(['family', 'rules', 'samples', 'bottle', 'secretlint', 'both cover', 'bottle >= secretlint'], familyRows)
  console.log()

  const bothCovered = [...families.values()].filter((f) => f.secretlint > 0)
  const bothN = bothCovered.reduce((a, f) => a + f.n, 0)
  console.log('Recall overall')
  printTable(
    ['scope', 'samples', 'bottle', 'bottle (own rule)', 'secretlint'],
    [
      ['all rules', total.n, pct(total.bottle, total.n), pct(total.own, total.n), pct(total.secretlint, total.n)],
      [`families both cover (${bothCovered.length})`, bothN, pct(bothCovered.reduce((a, f) => a + f.bottle, 0), bothN), '', pct(bothCovered.reduce((a, f) => a + f.secretlint, 0), bothN)],
      ...(['code', 'config', 'json'] as const).map((e) => {
        const n = rules.reduce((a, r) => a + r.byEmbed[e].n, 0)
        return [`embedded in ${e}`, n, pct(rules.reduce((a, r) => a + r.byEmbed[e].bottle, 0), n), '', pct(rules.reduce((a, r) => a + r.byEmbed[e].secretlint, 0), n)]
      }),
    ],
  )
  console.log()

  // False positives -----------------------------------------------------------
  const fp = await falsePositives()
  console.log("False positives (samples a tool reports anything for; for near misses, also those the rule itself reports)")
  const nearMisses = fp.byCategory.get('near misses')
  printTable(
    ['corpus', 'samples', 'bottle', 'bottle (the rule itself)', 'secretlint'],
    [
      ...[...fp.byCategory].map(([c, v]) => [c, v.n, v.bottle, c === 'near misses' ? v.bottleOwn : '', v.secretlint]),
      ['placeholders and look-alikes', fp.total - (nearMisses?.n ?? 0), fp.bottle.length - (nearMisses?.bottle ?? 0), '', fp.secretlint.length - (nearMisses?.secretlint ?? 0)],
      ['total', fp.total, fp.bottle.length, nearMisses?.bottleOwn ?? 0, fp.secretlint.length],
    ],
  )
  console.log()

  // Throughput ----------------------------------------------------------------
  console.log(`Throughput, MiB/s (median [min-max] of ${ROUNDS} runs, contenders interleaved)`)
  printTable(
    ['body', 'MiB', 'bottle scanBody', 'secretlint lintSource', 'bottle/secretlint', 'findings bottle', 'findings secretlint'],
    tp.map((t) => [
      t.label,
      t.mib.toFixed(2),
      `${median(t.bottle).toFixed(1)} [${Math.min(...t.bottle).toFixed(1)}-${Math.max(...t.bottle).toFixed(1)}]`,
      `${median(t.secretlint).toFixed(2)} [${Math.min(...t.secretlint).toFixed(2)}-${Math.max(...t.secretlint).toFixed(2)}]`,
      `${ratio(median(t.bottle), median(t.secretlint)).toFixed(1)}x`,
      t.bottleFindings.length,
      t.secretlintFindings.length,
    ]),
  )
  for (const t of tp) {
    if (t.bottleFindings.length) console.log(`  bottle on the ${t.label} corpus: ${[...new Set(t.bottleFindings)].slice(0, 10).join('; ')}`)
    if (t.secretlintFindings.length) console.log(`  secretlint on the ${t.label} corpus: ${[...new Set(t.secretlintFindings)].slice(0, 10).join('; ')}`)
  }
  console.log()

  // Targets -------------------------------------------------------------------
  const text = tp[0] as Throughput
  const json = tp[1] as Throughput
  const met = (b: boolean) => (b ? 'met' : 'NOT MET')
  console.log('Targets')
  printTable(
    ['target', 'measured', 'verdict'],
    [
      ["recall >= secretlint's on every family both cover", belowSecretlint.length ? `below on ${belowSecretlint.join(', ')}` : `${bothCovered.length} families, none below`, met(belowSecretlint.length === 0)],
      [`overall recall >= ${TARGET_OVERALL_RECALL * 100}%`, pct(total.bottle, total.n), met(total.bottle / total.n >= TARGET_OVERALL_RECALL)],
      [`throughput >= ${TARGET_SPEEDUP}x secretlint (text/plain)`, `${ratio(median(text.bottle), median(text.secretlint)).toFixed(1)}x`, met(ratio(median(text.bottle), median(text.secretlint)) >= TARGET_SPEEDUP)],
      [`throughput >= ${TARGET_SPEEDUP}x secretlint (application/json)`, `${ratio(median(json.bottle), median(json.secretlint)).toFixed(1)}x`, met(ratio(median(json.bottle), median(json.secretlint)) >= TARGET_SPEEDUP)],
      [`scanBody >= ${TARGET_MIBPS} MiB/s (text/plain)`, `${median(text.bottle).toFixed(1)} MiB/s`, met(median(text.bottle) >= TARGET_MIBPS)],
      [`scanBody >= ${TARGET_MIBPS} MiB/s (application/json)`, `${median(json.bottle).toFixed(1)} MiB/s`, met(median(json.bottle) >= TARGET_MIBPS)],
    ],
  )
  console.log()

  // For the catalog's owners ----------------------------------------------------
  const missedWhereSecretlintFinds = rules.filter((r) => r.bottleMisses.some((m) => m.secretlintFound))
  if (missedWhereSecretlintFinds.length) {
    console.log('Samples bottle misses and secretlint finds (rule, count, one example shape)')
    printTable(
      ['rule', 'missed', 'example'],
      missedWhereSecretlintFinds.map((r) => {
        const m = r.bottleMisses.filter((x) => x.secretlintFound)
        return [r.rule, m.length, `${m[0]?.embed}: ${shape(m[0]?.sample ?? '')}`]
      }),
    )
    console.log()
  }
  const missed = rules.filter((r) => r.bottleMisses.length > 0)
  if (missed.length) {
    console.log('Rules whose samples bottle misses (rule, missed/n, one example shape)')
    printTable(
      ['rule', 'missed', 'by embedding', 'example'],
      missed.map((r) => {
        const by = (['code', 'config', 'json'] as const).map((e) => `${e} ${r.bottleMisses.filter((m) => m.embed === e).length}`).join(', ')
        return [r.rule, `${r.bottleMisses.length}/${r.n}`, by, `${r.bottleMisses[0]?.embed}: ${shape(r.bottleMisses[0]?.sample ?? '')}`]
      }),
    )
    console.log()
  }
  // A near miss its own rule reports is that rule's false positive, listed one by one; the rest (another rule
  // reading what the near miss leaves, such as a random value under a secret-sounding name) are grouped.
  const own = fp.bottle.filter((f) => f.ownRule)
  if (own.length) {
    console.log("bottle false positives: near misses their own rule reports (corpus, embedding, rules reported, sample shape)")
    printTable(
      ['corpus', 'embed', 'bottle rules', 'shape'],
      own.map((f) => [f.source, f.embed, f.rules.join(','), shape(f.sample)]),
    )
    console.log()
  }
  const others = new Map<string, FalsePositive[]>()
  for (const f of fp.bottle.filter((x) => !x.ownRule)) {
    const key = `${f.source}\0${f.rules.join(',')}`
    others.set(key, [...(others.get(key) ?? []), f])
  }
  if (others.size) {
    console.log('bottle false positives: reported by another rule (corpus, rules reported, count, one sample shape)')
    printTable(
      ['corpus', 'bottle rules', 'count', 'example'],
      [...others.values()].map((fs) => [fs[0]?.source ?? '', fs[0]?.rules.join(',') ?? '', fs.length, `${fs[0]?.embed}: ${shape(fs[0]?.sample ?? '')}`]),
    )
    console.log()
  }
  if (fp.secretlint.length) {
    console.log('secretlint false positives (corpus, embedding, rules reported, sample shape)')
    printTable(
      ['corpus', 'embed', 'secretlint rules', 'shape'],
      fp.secretlint.map((f) => [f.source, f.embed, f.rules.join(','), shape(f.sample)]),
    )
    console.log()
  }
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
}

function secretlintVersion(): string {
  const pkg: unknown = createRequire(import.meta.url)('@secretlint/core/package.json')
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : 'unknown'
}

// Run when executed, not when a probe imports the corpora.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
