import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createScanner } from '../../../../sidecars/dlp/index.js'
import { scanRun } from '../../../../sidecars/git-gate/scan-lines.js'

const scanner = createScanner()
const AWS_KEY = ['AKIA', 'Z7QWERTYUIOPASDF'].join('')
const PEM = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trimEnd().split('\n')

describe('scanRun', () => {
  const filler = (n: number) => Array.from({ length: n }, (_, i) => `const value${i} = ${i}`)
  const cases = [
    { name: 'nothing', lines: filler(20), firstLine: 1, want: [] },
    { name: 'one line in a single-line run', lines: [`key = "${AWS_KEY}"`], firstLine: 7, want: [{ rule: 'aws-access-key-id', line: 7 }] },
    { name: 'each occurrence on its own line', lines: [...filler(3), AWS_KEY, ...filler(5), AWS_KEY], firstLine: 10, want: [{ rule: 'aws-access-key-id', line: 13 }, { rule: 'aws-access-key-id', line: 19 }] },
    { name: 'a block spanning lines, on its first line', lines: [...filler(40), ...PEM, ...filler(40)], firstLine: 1, want: [{ rule: 'private-key', line: 41 }] },
    { name: 'a block at the very start', lines: [...PEM], firstLine: 5, want: [{ rule: 'private-key', line: 5 }] },
  ]
  it.each(cases)('$name', ({ lines, firstLine, want }) => {
    expect(scanRun(scanner, { firstLine, lines }).map(({ rule, line }) => ({ rule, line }))).toEqual(want)
  })

  it('reports how a secret was hidden', () => {
    const [finding] = scanRun(scanner, { firstLine: 1, lines: ['a', `b = "${Buffer.from(AWS_KEY).toString('base64')}"`] })
    expect(finding).toEqual({ rule: 'aws-access-key-id', line: 2, encoding: 'base64' })
  })
})
