import { execa } from 'execa'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../../controller/package-root.js'

const root = packageRoot()

/** The installed entry point, as `npx bottle` runs it (needs `npm run build`, which scripts/test does). */
function bottle(...args: string[]) {
  return execa(process.execPath, [join(root, 'bin/bottle.js'), ...args], { cwd: root, reject: false })
}

describe('the bottle executable', () => {
  it('validates the valid fixture tree: exit 0', async () => {
    const { exitCode, stdout } = await bottle('validate', '-f', 'fixtures/specs/valid')
    expect(exitCode).toBe(0)
    expect(stdout).toBe('valid: 4 Bottles, 3 Agents in 7 files')
  })

  it.each(readdirSync(join(root, 'fixtures/specs/invalid')).sort())('invalid/%s: exit 1 with its message at file:line:col', async (name) => {
    const { exitCode, stderr } = await bottle('validate', '-f', `fixtures/specs/invalid/${name}`)
    expect(exitCode).toBe(1)
    const first = readFileSync(join(root, 'fixtures/specs/invalid', name, 'expected.txt'), 'utf8').split('\n')[0]!
    expect(stderr.split('\n')[0]).toBe(`fixtures/specs/invalid/${name}/${first}`)
  })

  it('exits 2 on a usage error', async () => {
    const { exitCode } = await bottle('validate')
    expect(exitCode).toBe(2)
  })

  it('lists every command in --help', async () => {
    const { exitCode, stdout } = await bottle('--help')
    expect(exitCode).toBe(0)
    for (const command of ['validate', 'get', 'describe', 'apply', 'diff', 'delete', 'logs', 'exec', 'attach', 'controller', 'schema', 'dashboard']) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
  })
})
