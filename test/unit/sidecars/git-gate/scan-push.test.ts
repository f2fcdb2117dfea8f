import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createScanner } from '../../../../sidecars/dlp/index.js'
import {
  FILE_TOO_LARGE_RULE,
  parsePushUpdates,
  PUSH_TOO_LARGE_RULE,
  scanPush,
  UNSUPPORTED_OBJECT_RULE,
  type PushScanOptions,
  type PushUpdate,
} from '../../../../sidecars/git-gate/scan-push.js'
import { WorkRepo, type FileChanges } from './support/work-repo.js'

// Built at run time so no credential-shaped literal sits in this file.
const AWS_KEY = ['AKIA', 'Z7QWERTYUIOPASDF'].join('')
const PRIVATE_KEY = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const ZERO = '0'.repeat(40)

const scanner = createScanner({ knownSecrets: ['gate-token-value-0123456789'] })
const defaults: PushScanOptions = { scanner, maxFileBytes: 64 * 1024, maxPushScanBytes: 1024 * 1024, oversized: 'block' }

interface Change {
  files: FileChanges
  message?: string
}

let repo: WorkRepo

beforeEach(async () => {
  repo = await WorkRepo.create()
  // What upstream already has: the mirror's refs point here.
  await repo.commit({ 'README.md': '# app\n', 'src/config.ts': Array.from({ length: 10 }, (_, i) => `export const v${i} = ${i}\n`).join('') }, 'initial')
})

afterEach(async () => {
  await repo.dispose()
})

/** Commit `changes` on a branch, then drop the branch: its commits exist but no ref reaches them, as in receive-pack's quarantine. */
async function pushOf(changes: Change[], ref = 'refs/heads/feature'): Promise<PushUpdate[]> {
  await repo.run('checkout', '-q', '-b', 'feature')
  let tip = ''
  for (const change of changes) tip = await repo.commit(change.files, change.message)
  await repo.run('checkout', '-q', '--detach', 'main')
  await repo.run('branch', '-q', '-D', 'feature')
  return [{ oldId: ZERO, newId: tip, ref }]
}

function summary(findings: Array<{ rule: string; location: string; encoding?: string }>) {
  return findings.map((f) => `${f.location}: ${f.rule}${f.encoding ? ` (${f.encoding})` : ''}`)
}

describe('scanPush on real git history', () => {
  const cases: Array<{ name: string; changes: Change[]; want: string[] }> = [
    {
      name: 'a clean push has no findings',
      changes: [{ files: { 'src/app.ts': 'export function add(a: number, b: number) {\n  return a + b\n}\n' }, message: 'add adder' }],
      want: [],
    },
    {
      name: 'an AWS access key id added on line 12 of an existing file',
      changes: [{ files: { 'src/config.ts': Array.from({ length: 10 }, (_, i) => `export const v${i} = ${i}\n`).join('') + `\nexport const awsKey = "${AWS_KEY}"\n` } }],
      want: ['src/config.ts:12: aws-access-key-id'],
    },
    {
      name: 'a private key block reported on its BEGIN line',
      changes: [{ files: { 'deploy/key.pem': `# deploy key\n\n${PRIVATE_KEY}` } }],
      want: ['deploy/key.pem:3: private-key'],
    },
    {
      name: 'a secret in the commit message, by message line',
      changes: [{ files: { 'notes.txt': 'hello\n' }, message: `add notes\n\nused key ${AWS_KEY} to test\n` }],
      want: ['commit message:3: aws-access-key-id'],
    },
    {
      name: 'a secret in the name of a new file, with the name withheld',
      changes: [{ files: { [`leak/${AWS_KEY}.txt`]: 'nothing here\n' } }],
      want: ['file name: aws-access-key-id'],
    },
    {
      name: 'a base64-hidden secret',
      changes: [{ files: { 'src/blob.ts': `const blob = '${Buffer.from(AWS_KEY).toString('base64')}'\n` } }],
      want: ['src/blob.ts:1: aws-access-key-id (base64)'],
    },
    {
      name: 'a known secret of the bottle (a gate token)',
      changes: [{ files: { 'ci.env': 'A=1\nTOKEN=gate-token-value-0123456789\n' } }],
      want: ['ci.env:2: known-secret'],
    },
    {
      name: 'a secret added in an early commit and removed later is still refused',
      changes: [{ files: { 'tmp.txt': `${AWS_KEY}\n` } }, { files: { 'tmp.txt': null } }],
      want: ['tmp.txt:1: aws-access-key-id'],
    },
    {
      name: 'removing a secret that upstream already has is clean',
      changes: [{ files: { 'README.md': null } }],
      want: [],
    },
    {
      name: 'a path with spaces, quotes and non-ASCII is named exactly',
      changes: [{ files: { 'docs/my "notes" é.md': `line one\n${AWS_KEY}\n` } }],
      want: ['"docs/my \\"notes\\" é.md":2: aws-access-key-id'],
    },
    {
      name: 'a small binary file is scanned whole',
      changes: [{ files: { 'assets/blob.bin': Buffer.concat([Buffer.from([0, 1, 2, 0, 255]), Buffer.from(`\n${AWS_KEY}\n`)]) } }],
      want: ['assets/blob.bin:2: aws-access-key-id'],
    },
  ]

  it.each(cases)('$name', async ({ changes, want }) => {
    const updates = await pushOf(changes)
    const result = await scanPush(repo.git, updates, defaults)
    expect(summary(result.findings)).toEqual(want)
    expect(result.commits).toBe(changes.length)
  })

  it('never puts the matched value in a finding', async () => {
    const updates = await pushOf([{ files: { [`k-${AWS_KEY}.txt`]: `${AWS_KEY}\n${PRIVATE_KEY}` }, message: `msg ${AWS_KEY}` }])
    const result = await scanPush(repo.git, updates, defaults)
    expect(result.findings.length).toBeGreaterThanOrEqual(3)
    const text = JSON.stringify(result)
    expect(text).not.toContain(AWS_KEY)
    expect(text).not.toContain(AWS_KEY.slice(4))
    expect(text).not.toContain(PRIVATE_KEY.split('\n')[1]!.slice(0, 20))
  })

  it('names the commit that adds the secret', async () => {
    const updates = await pushOf([{ files: { 'a.txt': 'clean\n' } }, { files: { 'b.txt': `${AWS_KEY}\n` } }, { files: { 'c.txt': 'clean\n' } }])
    const second = await repo.run('rev-parse', `${updates[0]!.newId}~1`)
    const result = await scanPush(repo.git, updates, defaults)
    expect(result.findings).toEqual([{ rule: 'aws-access-key-id', location: 'b.txt:1', commit: second.slice(0, 10) }])
  })

  it('does not scan history upstream already has', async () => {
    // A secret that is already upstream (reachable from main) is not the push's doing.
    await repo.commit({ 'old.txt': `${AWS_KEY}\n` }, 'already upstream')
    const updates = await pushOf([{ files: { 'new.txt': 'clean\n' } }])
    const result = await scanPush(repo.git, updates, defaults)
    expect(result.findings).toEqual([])
    expect(result.commits).toBe(1)
  })

  it('scans only what a merge adds against every parent', async () => {
    await repo.run('checkout', '-q', '-b', 'feature')
    await repo.commit({ 'side.txt': 'side\n' }, 'side')
    await repo.run('checkout', '-q', '-b', 'other', 'main')
    await repo.commit({ 'other.txt': 'other\n' }, 'other')
    await repo.run('merge', '-q', '--no-edit', 'feature')
    // An "evil" merge: text in the merge that neither parent has.
    await repo.commit({ 'side.txt': `side\n${AWS_KEY}\n` }, 'placeholder')
    await repo.run('reset', '-q', '--soft', 'HEAD~1')
    await repo.run('commit', '-q', '--amend', '--no-edit')
    const tip = await repo.run('rev-parse', 'HEAD')
    expect((await repo.run('cat-file', '-p', 'HEAD')).match(/^parent /gm)).toHaveLength(2)
    await repo.run('checkout', '-q', '--detach', 'main')
    await repo.run('branch', '-q', '-D', 'feature', 'other')
    const result = await scanPush(repo.git, [{ oldId: ZERO, newId: tip, ref: 'refs/heads/other' }], defaults)
    expect(summary(result.findings)).toEqual(['side.txt:2: aws-access-key-id'])
    expect(result.commits).toBe(3)
  })

  it('scans annotated tag messages and refuses tags of non-commits', async () => {
    await repo.run('tag', '-a', 'v1', '-m', `release\n\nsigned with ${AWS_KEY}`)
    const tag = await repo.run('rev-parse', 'refs/tags/v1')
    await repo.run('tag', '-d', 'v1')
    const blob = await repo.run('rev-parse', 'HEAD:README.md')
    const result = await scanPush(
      repo.git,
      [
        { oldId: ZERO, newId: tag, ref: 'refs/tags/v1' },
        { oldId: ZERO, newId: blob, ref: 'refs/tags/blob' },
      ],
      defaults,
    )
    expect(summary(result.findings).sort()).toEqual(['refs/tags/blob: unsupported-object', 'tag message:3: aws-access-key-id'])
  })

  it('refuses a ref name that holds a secret without naming it', async () => {
    const updates = await pushOf([{ files: { 'a.txt': 'a\n' } }], `refs/heads/${AWS_KEY}`)
    const result = await scanPush(repo.git, updates, defaults)
    expect(summary(result.findings)).toEqual(['ref name: aws-access-key-id'])
  })

  it('a deletion scans nothing', async () => {
    const result = await scanPush(repo.git, [{ oldId: await repo.run('rev-parse', 'main'), newId: ZERO, ref: 'refs/heads/gone' }], defaults)
    expect(result).toEqual({ findings: [], unscanned: [], commits: 0, files: 0, scannedBytes: 0 })
  })
})

describe('scanPush caps', () => {
  const big = 'x'.repeat(100) + '\n'
  const cases: Array<{ name: string; files: FileChanges; options: Partial<PushScanOptions>; findings: string[]; unscanned: string[] }> = [
    {
      name: 'a text file over maxFileBytes is refused (fail closed)',
      files: { 'big.txt': big.repeat(2000) },
      options: {},
      findings: [`big.txt: ${FILE_TOO_LARGE_RULE}`],
      unscanned: [],
    },
    {
      name: 'a binary file over maxFileBytes is refused',
      files: { 'big.bin': Buffer.alloc(100 * 1024, 0) },
      options: {},
      findings: [`big.bin: ${FILE_TOO_LARGE_RULE}`],
      unscanned: [],
    },
    {
      name: 'oversized: allow lets it through, unscanned, and says so',
      files: { 'big.txt': big.repeat(2000) },
      options: { oversized: 'allow' },
      findings: [],
      unscanned: [`big.txt: ${FILE_TOO_LARGE_RULE}`],
    },
    {
      name: 'a push over maxPushScanBytes is refused once',
      files: { 'a.txt': big.repeat(400), 'b.txt': big.repeat(400), 'c.txt': big.repeat(400) },
      options: { maxPushScanBytes: 60 * 1024 },
      findings: [`b.txt: ${PUSH_TOO_LARGE_RULE}`],
      unscanned: [],
    },
  ]

  it.each(cases)('$name', async ({ files, options, findings, unscanned }) => {
    const updates = await pushOf([{ files }])
    const result = await scanPush(repo.git, updates, { ...defaults, ...options })
    expect(summary(result.findings)).toEqual(findings)
    expect(summary(result.unscanned)).toEqual(unscanned)
  })
})

describe('parsePushUpdates', () => {
  const a = 'a'.repeat(40)
  const b = 'b'.repeat(40)
  it('reads the lines receive-pack writes', () => {
    expect(parsePushUpdates(`${a} ${b} refs/heads/main\n${b} ${ZERO} refs/tags/v1\n`)).toEqual([
      { oldId: a, newId: b, ref: 'refs/heads/main' },
      { oldId: b, newId: ZERO, ref: 'refs/tags/v1' },
    ])
  })
  const bad = [`${a} ${b}`, `${a} ${b} HEAD`, `${a} xyz refs/heads/x`, `${a} ${b} refs/heads/a b`]
  it.each(bad)('refuses %j', (line) => {
    expect(() => parsePushUpdates(line)).toThrow(/unexpected update line/)
  })
})
