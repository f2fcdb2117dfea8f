import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { listedAgentProvider } from '../../../../controller/cli/agent-provider.js'
import { listObjects, renderGet } from '../../../../controller/cli/commands/get.js'
import { runDescribe } from '../../../../controller/cli/commands/describe.js'
import { loadSpecTree } from '../../../../controller/spec/load-spec-tree.js'
import { TempFolder } from '../../../helpers/temp-folder.js'
import { Writable } from 'node:stream'

const bottle = (name: string, spec: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: ${name}}\nspec:\n${spec}`
const agent = (name: string, spec: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n${spec}`

describe('the provider get, describe and attach show', () => {
  let specs: TempFolder
  beforeEach(async () => {
    specs = await TempFolder.create('bottle-listed-provider-')
    await specs.write('bottles/base.yaml', bottle('base', '  image: {provider: codex}\n'))
    await specs.write('bottles/child.yaml', bottle('child', '  extends: base\n'))
    await specs.write('bottles/plain.yaml', bottle('plain', '  env: {A: b}\n'))
  })
  afterEach(async () => {
    await specs.dispose()
  })

  const cases = [
    // get -o wide and describe used to print claude here, while the plan ran Codex.
    { name: "the Bottle's image provider, inherited through extends", spec: '  bottle: child\n', want: 'codex' },
    { name: "the Agent's own choice", spec: '  bottle: child\n  provider: claude\n', want: 'claude' },
    { name: 'no provider anywhere: claude', spec: '  bottle: plain\n', want: 'claude' },
    { name: 'an Agent whose spec is not valid now: the default', spec: '  bottle: child\n  bogus: true\n', want: 'claude' },
  ]
  it.each(cases)('$name', async ({ spec, want }) => {
    await specs.write('agents/impl.yaml', agent('impl', spec))
    const tree = await loadSpecTree(specs.path)
    const listed = (await listObjects(tree)).find((o) => o.kind === 'Agent' && o.name === 'impl')!
    expect(listedAgentProvider(tree, listed)).toBe(want)
  })

  it('get -o wide and describe print it', async () => {
    await specs.write('agents/impl.yaml', agent('impl', '  bottle: child\n'))
    const table = await renderGet(await loadSpecTree(specs.path), ['Agent'], 'impl', 'wide')
    expect(table.split('\n')[1]).toMatch(/^impl\s+child\s+.*\bcodex\b/)
    let text = ''
    const out = new Writable({ write(chunk: Buffer, _e, done) { text += chunk.toString(); done() } })
    await runDescribe('agent', 'impl', { dir: specs.path }, out)
    expect(text).toContain('Provider: codex\n')
  })
})
