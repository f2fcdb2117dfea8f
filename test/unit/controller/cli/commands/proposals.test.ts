import { Writable } from 'node:stream'
import { Command, CommanderError } from 'commander'
import { afterEach, describe, expect, it } from 'vitest'
import { CliError } from '../../../../../controller/cli/cli-error.js'
import { registerProposalCommands } from '../../../../../controller/cli/commands/proposals.js'
import { renderProposalFile } from '../../../../../controller/proposals/proposal-files.js'
import { loadSpecTree } from '../../../../../controller/spec/load-spec-tree.js'
import type { TempFolder } from '../../../../helpers/temp-folder.js'
import { proposal, specFolder } from '../../proposals/support/spec-folder.js'

/** `bottle <args>` with only the proposal commands, handling errors as main.ts does: one line, exit code. */
async function bottle(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void) => new Writable({ write: (chunk: Buffer, _e, done) => (append(chunk.toString()), done()) })
  const io = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) }
  let code = 0
  const program = new Command('bottle').exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
  registerProposalCommands(program, io, (c) => (code = c))
  try {
    await program.parseAsync(['node', 'bottle', ...args])
  } catch (error) {
    if (error instanceof CommanderError) return { code: 2, stdout, stderr }
    stderr += `error: ${(error as Error).message}\n`
    return { code: error instanceof CliError ? error.exitCode : 1, stdout, stderr }
  }
  return { code, stdout, stderr }
}

const BOTTLE = `# the dev box
apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  env: {STAGE: one}   # plain values only
  egress:
    routes:
      - host: registry.npmjs.org
    allowPrivate: [172.17.0.1/32]
  supervise: {enabled: true}
`
const AGENT = 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec: {bottle: dev}\n'

let folder: TempFolder | undefined
afterEach(async () => {
  await folder?.dispose()
  folder = undefined
})

async function withProposal(files: Record<string, string>, host = 'docs.example.com', options: Parameters<typeof proposal>[2] & { paths?: string[] } = {}): Promise<TempFolder> {
  const p = proposal('impl-3', host, options)
  if (options.paths) p.spec.route.paths = options.paths
  folder = await specFolder({ ...files, 'proposals/impl-3.yaml': renderProposalFile(p) })
  return folder
}

describe('bottle approve', () => {
  it('adds exactly the route to the Bottle, prints that diff, and marks the proposal Approved', async () => {
    const specs = await withProposal({ 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, 'docs.example.com', { paths: ['/v1/'] })
    const result = await bottle(['approve', 'impl-3', '--dir', specs.path])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`--- a/bottles/dev.yaml
+++ b/bottles/dev.yaml
@@ -7,5 +7,7 @@
   egress:
     routes:
       - host: registry.npmjs.org
+      - host: docs.example.com
+        paths: [/v1/]
     allowPrivate: [172.17.0.1/32]
   supervise: {enabled: true}
proposal/impl-3 approved: route docs.example.com added to Bottle dev (bottles/dev.yaml); a running controller applies it without restarting the agent
`)
    expect(await specs.read('bottles/dev.yaml')).toBe(BOTTLE.replace('      - host: registry.npmjs.org\n', '      - host: registry.npmjs.org\n      - host: docs.example.com\n        paths: [/v1/]\n'))
    const tree = await loadSpecTree(specs.path)
    expect(tree.errors).toEqual([])
    expect(tree.bottles.get('dev')?.spec.egress?.routes).toEqual([{ host: 'registry.npmjs.org' }, { host: 'docs.example.com', paths: ['/v1/'] }])
    expect(tree.proposals.get('impl-3')?.value.status).toMatchObject({ phase: 'Approved', message: 'approved: the route docs.example.com was added to Bottle dev (bottles/dev.yaml)' })
    // The header comment of the Proposal file survives the status change.
    expect(await specs.read('proposals/impl-3.yaml')).toMatch(/^# Agent impl asks/)
  })

  it('adds the upstream the approver names', async () => {
    const specs = await withProposal({ 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT })
    const result = await bottle(['approve', 'impl-3', '--dir', specs.path, '--upstream', 'http://172.17.0.1:8080'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('+      - host: docs.example.com\n+        upstream: "http://172.17.0.1:8080"\n')
  })

  it('edits a Markdown Bottle in bottles/ and leaves its body alone', async () => {
    const md = '---\n# flat layout\nenv: {STAGE: one}\negress:\n  routes:\n    - host: registry.npmjs.org\nsupervise: {enabled: true}\n---\n# Dev bottle\n\nNotes for humans.\n'
    const specs = await withProposal({ 'bottles/dev.md': md, 'agents/impl.yaml': AGENT })
    const result = await bottle(['approve', 'impl-3', '--dir', specs.path])
    expect(result.code).toBe(0)
    expect(await specs.read('bottles/dev.md')).toBe(md.replace('    - host: registry.npmjs.org\n', '    - host: registry.npmjs.org\n    - host: docs.example.com\n'))
  })

  it('edits the right document of a multi-document file', async () => {
    const both = `${BOTTLE.replace('name: dev', 'name: other').replace('{enabled: true}', '{enabled: false}')}---\n${BOTTLE}---\n${AGENT}`
    const specs = await withProposal({ 'specs.yaml': both })
    const result = await bottle(['approve', 'impl-3', '--dir', specs.path])
    expect(result.code).toBe(0)
    const after = await specs.read('specs.yaml')
    const [first, second, third] = after.split('---\n')
    expect(first).toBe(both.split('---\n')[0])
    expect(second).toContain('      - host: docs.example.com\n')
    expect(third).toBe(AGENT)
  })

  const refused: { name: string; files: Record<string, string>; host?: string; phase?: 'Approved' | 'Rejected'; args?: string[]; want: RegExp }[] = [
    {
      name: 'a Bottle that gets egress only through extends, naming the file to edit',
      files: {
        'bottles/base.yaml': 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: base}\nspec:\n  egress:\n    routes: [{host: registry.npmjs.org}]\n',
        'bottles/dev.yaml': 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  extends: base\n  supervise: {enabled: true}\n',
        'agents/impl.yaml': AGENT,
      },
      want: /Bottle dev gets egress from Bottle base \(bottles\/base\.yaml\) through extends.*add the route to bottles\/base\.yaml/,
    },
    { name: 'a route the Bottle already has', files: { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, host: 'Registry.npmjs.org', want: /Bottle dev already allows Registry\.npmjs\.org/ },
    { name: 'a proposal already approved', files: { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, phase: 'Approved', want: /proposal impl-3 is already Approved/ },
    { name: 'a proposal already rejected', files: { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, phase: 'Rejected', want: /proposal impl-3 is already Rejected/ },
    // A hand-edited proposal is checked again: it can never widen to everything.
    { name: 'a proposal edited by hand to a public-suffix wildcard', files: { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, host: '*.co.uk', want: /asks for what no proposal may.*public suffix/ },
    { name: 'an unknown proposal, with a suggestion', files: { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, args: ['approve', 'impl-33'], want: /proposal impl-33 not found .*did you mean "impl-3"/ },
    { name: 'an upstream with a path', files: { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, args: ['approve', 'impl-3', '--upstream', 'http://10.0.0.1/api'], want: /must be an origin/ },
    { name: 'an upstream with credentials', files: { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, args: ['approve', 'impl-3', '--upstream', 'https://u:p@10.0.0.1'], want: /must not carry credentials/ },
  ]
  it.each(refused)('refuses $name and changes nothing', async ({ files, host, phase, args, want }) => {
    const specs = await withProposal(files, host, phase ? { phase } : {})
    const before = await Promise.all(Object.keys(files).map((f) => specs.read(f)))
    const proposalBefore = await specs.read('proposals/impl-3.yaml')
    const result = await bottle([...(args ?? ['approve', 'impl-3']), '--dir', specs.path])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(want)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(await Promise.all(Object.keys(files).map((f) => specs.read(f)))).toEqual(before)
    expect(await specs.read('proposals/impl-3.yaml')).toBe(proposalBefore)
  })

  it('says when the folder does not exist', async () => {
    const result = await bottle(['approve', 'impl-3', '--dir', '/nonexistent/specs'])
    expect(result).toMatchObject({ code: 1, stderr: 'error: /nonexistent/specs: no such folder (pass the spec folder with --dir)\n' })
  })
})

describe('bottle reject', () => {
  it('sets Rejected with the reason and leaves the Bottle alone', async () => {
    const specs = await withProposal({ 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT })
    const result = await bottle(['reject', 'impl-3', '--reason', 'use the internal mirror', '--dir', specs.path])
    expect(result).toEqual({ code: 0, stdout: 'proposal/impl-3 rejected (proposals/impl-3.yaml)\n', stderr: '' })
    expect(await specs.read('bottles/dev.yaml')).toBe(BOTTLE)
    const status = (await loadSpecTree(specs.path)).proposals.get('impl-3')?.value.status
    expect(status).toMatchObject({ phase: 'Rejected', message: 'use the internal mirror' })
    expect(Date.parse(status?.decidedAt ?? '')).not.toBeNaN()
  })

  const refused: { name: string; args: string[]; phase?: 'Approved'; code: number; want: RegExp }[] = [
    { name: 'no --reason', args: ['reject', 'impl-3'], code: 2, want: /required option '--reason <text>' not specified/ },
    { name: 'an empty reason', args: ['reject', 'impl-3', '--reason', '  '], code: 1, want: /the reason is empty/ },
    { name: 'a decided proposal', args: ['reject', 'impl-3', '--reason', 'no'], phase: 'Approved', code: 1, want: /already Approved/ },
  ]
  it.each(refused)('refuses $name', async ({ args, phase, code, want }) => {
    const specs = await withProposal({ 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }, 'docs.example.com', phase ? { phase } : {})
    const result = await bottle([...args, '--dir', specs.path])
    expect(result.code).toBe(code)
    expect(result.stderr).toMatch(want)
  })
})
