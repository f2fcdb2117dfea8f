import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../../../controller/package-root.js'
import { runCli } from '../../../helpers/run-cli.js'

const FIXTURES = join(packageRoot(), 'fixtures/specs')

describe('bottle validate', () => {
  it('exits 0 on the valid tree and says what it checked', async () => {
    const { code, stdout, stderr } = await runCli(['validate', '-f', join(FIXTURES, 'valid')])
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toBe('valid: 4 Bottles, 3 Agents in 7 files\n')
  })

  it.each(readdirSync(join(FIXTURES, 'invalid')).sort())('exits 1 on invalid/%s, printing each error as path:line:col', async (name) => {
    const dir = join(FIXTURES, 'invalid', name)
    const { code, stderr } = await runCli(['validate', '-f', dir])
    expect(code).toBe(1)
    const prefix = relative(process.cwd(), dir)
    const expected = readFileSync(join(dir, 'expected.txt'), 'utf8').trim().split('\n').map((l) => `${prefix}/${l}`)
    const lines = stderr.trim().split('\n')
    expect(lines.slice(0, -1)).toEqual(expected)
    expect(lines.at(-1)).toMatch(/^\d+ errors? in \d+ files?$/)
  })

  it('checks one file against the folder given with --dir', async () => {
    const valid = join(FIXTURES, 'valid')
    const ok = await runCli(['validate', '-f', join(valid, 'agents/team.yaml'), '--dir', valid])
    expect(ok.code).toBe(0)
    const alone = await runCli(['validate', '-f', join(valid, 'agents/team.yaml')])
    expect(alone.code).toBe(1)
    expect(alone.stderr).toContain('Bottle "dev" does not exist')
  })

  const usage: { name: string; args: string[]; want: RegExp }[] = [
    { name: 'no -f', args: ['validate'], want: /required option '-f, --filename <path>' not specified/ },
    { name: 'an unknown option', args: ['validate', '-f', '.', '--frobnicate'], want: /unknown option '--frobnicate'/ },
    { name: 'a path that does not exist', args: ['validate', '-f', '/nonexistent/specs'], want: /\/nonexistent\/specs: no such file or directory/ },
    { name: 'an unknown command', args: ['valdate'], want: /unknown command 'valdate'/ },
  ]
  it.each(usage)('exits 2 on usage errors: $name', async ({ args, want }) => {
    const { code, stderr } = await runCli(args)
    expect(code).toBe(2)
    expect(stderr).toMatch(want)
  })
})

describe('bottle schema', () => {
  it('prints one draft-07 schema that picks Bottle or Agent by kind', async () => {
    const { code, stdout } = await runCli(['schema'])
    expect(code).toBe(0)
    const schema = JSON.parse(stdout) as { $schema: string; definitions: Record<string, unknown>; allOf: unknown[] }
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(Object.keys(schema.definitions)).toEqual(expect.arrayContaining(['Bottle', 'Agent', 'BottleEgressRoute', 'AgentTokenRef']))
    expect(stdout).not.toContain('$defs')
  })

  it('prints one kind', async () => {
    const { code, stdout } = await runCli(['schema', 'agent'])
    expect(code).toBe(0)
    expect(JSON.parse(stdout).title).toBe('Agent')
  })

  it('refuses an unknown kind with a suggestion', async () => {
    const { code, stderr } = await runCli(['schema', 'Botle'])
    expect(code).toBe(2)
    expect(stderr).toContain('did you mean "Bottle"?')
  })
})

describe('bottle get', () => {
  it('lists agents from specs with kubectl-style columns', async () => {
    const { code, stdout } = await runCli(['get', 'agents', '--dir', join(FIXTURES, 'valid')])
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+BOTTLE\s+PHASE\s+READY\s+AGE$/)
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['implementer', 'dev'],
      ['reviewer', 'dev'],
      ['docs-writer', 'base'],
    ])
  })

  it('prints one object as YAML', async () => {
    const { code, stdout } = await runCli(['get', 'bottle', 'dev', '-o', 'yaml', '--dir', join(FIXTURES, 'valid')])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^apiVersion: bottle.dev\/v1alpha1\nkind: Bottle\nmetadata:\n  name: dev\n/)
  })

  it('says when a name is not found, with a suggestion', async () => {
    const { code, stderr } = await runCli(['get', 'agents', 'implementor', '--dir', join(FIXTURES, 'valid')])
    expect(code).toBe(1)
    expect(stderr).toContain('"implementor" not found (did you mean "implementer"?)')
  })
})
