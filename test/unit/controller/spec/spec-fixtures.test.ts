import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatSpecError } from '../../../../controller/spec/errors.js'
import { loadSpecTree } from '../../../../controller/spec/load-spec-tree.js'
import { packageRoot } from '../../../../controller/package-root.js'

const FIXTURES = join(packageRoot(), 'fixtures/specs')
const INVALID = join(FIXTURES, 'invalid')

describe('the valid fixture tree', () => {
  it('loads with no errors, every kind and both file formats', async () => {
    const tree = await loadSpecTree(join(FIXTURES, 'valid'))
    expect(tree.errors.map(formatSpecError)).toEqual([])
    expect([...tree.bottles.keys()].sort()).toEqual(['base', 'custom', 'dev', 'prebuilt'])
    expect([...tree.agents.keys()].sort()).toEqual(['docs-writer', 'implementer', 'reviewer'])
    expect([...tree.proposals.keys()]).toEqual(['implementer-1', 'implementer-denied-1'])
  })

  it('takes the prompt of a Markdown Agent from its body', async () => {
    const tree = await loadSpecTree(join(FIXTURES, 'valid'))
    expect(tree.agents.get('implementer')?.spec.prompt).toMatch(/^You implement PRDs\. Read the PRD/)
  })

  it('reads the older flat Markdown layout: kind from bottles/, name from the file', async () => {
    const tree = await loadSpecTree(join(FIXTURES, 'valid'))
    expect(tree.bottles.get('base')?.spec.supervise).toEqual({ enabled: true })
  })

  it('applies extends: env merged, git.user per field, remotes by name', async () => {
    const tree = await loadSpecTree(join(FIXTURES, 'valid'))
    const dev = tree.bottles.get('dev')!
    expect(dev.chain).toEqual(['base', 'dev'])
    expect(dev.spec.env).toEqual({ EDITOR: 'vi', LANG: 'C.UTF-8', GIT_AUTHOR_NAME: 'dev' })
    expect(dev.spec.git?.user).toEqual({ name: 'Bottle Bot', email: 'dev@example.com' })
    expect(dev.spec.git?.remotes?.map((r) => r.name)).toEqual(['docs', 'app'])
    const implementer = tree.agents.get('implementer')!
    expect(implementer.gitUser).toEqual({ name: 'implementer', email: 'dev@example.com' })
  })

  it('ignores README, skills and status files', async () => {
    const tree = await loadSpecTree(join(FIXTURES, 'valid'))
    const files = tree.files.map((f) => f.path)
    expect(files).not.toContain('README.md')
    expect(files).not.toContain('skills/init-prd/SKILL.md')
    expect(files.some((f) => f.endsWith('.status.yaml'))).toBe(false)
  })
})

const cases = readdirSync(INVALID).sort()

describe('each invalid fixture fails with its message at file:line:col', () => {
  it('has a case for every rule', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25)
  })

  it.each(cases)('%s', async (name) => {
    const expected = readFileSync(join(INVALID, name, 'expected.txt'), 'utf8').trim().split('\n')
    const tree = await loadSpecTree(join(INVALID, name))
    expect(tree.errors.map(formatSpecError)).toEqual(expected)
    for (const line of expected) expect(line).toMatch(/^[\w./-]+:\d+:\d+: /)
  })
})
