/**
 * The byte passes' module is compiled by V8's optimizing tier up front:
 * left to the baseline tier, about half the processes measured ran the
 * passes 1.6-2.2x slower for their whole life. What tier compiled each
 * function is only visible to V8's own trace, so a child process runs the
 * passes with it on.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { expect, it } from 'vitest'

const byteScan = fileURLToPath(new URL('../../../../sidecars/dlp/byte-scan.ts', import.meta.url))

it('compiles both passes with the optimizing tier, never the baseline one', async () => {
  const entry = `
    import { byteClass, classRuns } from ${JSON.stringify(byteScan)}
    const text = new TextEncoder().encode('a token here and a token there '.repeat(100))
    classRuns(text, byteClass((c) => c >= 97 && c <= 122), 4, () => {})
    process.stdout.write('passes ran\\n')
  `
  const out = await build({ stdin: { contents: entry, resolveDir: process.cwd(), loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', write: false })
  const dir = mkdtempSync(join(tmpdir(), 'byte-scan-tier-'))
  try {
    const file = join(dir, 'passes.mjs')
    writeFileSync(file, out.outputFiles[0]?.text ?? '')
    const run = spawnSync(process.execPath, ['--trace-wasm-compilation-times', file], { encoding: 'utf8' })
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('passes ran')
    const compiled = run.stdout.split('\n').filter((line) => line.startsWith('Compiled function'))
    expect(compiled.filter((line) => line.includes('using TurboFan'))).toHaveLength(2)
    expect(compiled.filter((line) => line.includes('using Liftoff'))).toEqual([])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
