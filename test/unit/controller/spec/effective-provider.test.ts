import { describe, expect, it } from 'vitest'
import { effectiveProvider } from '../../../../controller/spec/effective-provider.js'
import { loadSpecTree } from '../../../../controller/spec/load-spec-tree.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

describe('effectiveProvider', () => {
  const cases: { name: string; agent: Parameters<typeof effectiveProvider>[0]; bottle: Parameters<typeof effectiveProvider>[1]; want: string }[] = [
    { name: "the Agent's own choice wins over its Bottle's image", agent: { provider: 'claude' }, bottle: { image: { provider: 'codex' } }, want: 'claude' },
    // attach used to ignore the Bottle and start Claude Code here.
    { name: "without one, the Bottle's image provider", agent: {}, bottle: { image: { provider: 'codex' } }, want: 'codex' },
    { name: 'a Bottle with its own image leaves the default', agent: {}, bottle: { image: { ref: 'mine:1' } }, want: 'claude' },
    { name: 'neither: Claude Code', agent: {}, bottle: {}, want: 'claude' },
    { name: 'no Bottle known: the Agent alone decides', agent: { provider: 'codex' }, bottle: undefined, want: 'codex' },
  ]
  it.each(cases)('$name', ({ agent, bottle, want }) => {
    expect(effectiveProvider(agent, bottle)).toBe(want)
  })
})

describe('validation of provider-specific auth', () => {
  const bottle = (image: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  image: {provider: ${image}}\n`
  const agent = 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec:\n  bottle: dev\n  auth: {forwardHostCredentials: true}\n'

  it.each([
    { image: 'codex', errors: [] },
    { image: 'claude', errors: ['is only supported with provider: codex'] },
  ])('forwardHostCredentials in a Bottle whose image is $image', async ({ image, errors }) => {
    const folder = await TempFolder.create('bottle-provider-rules-')
    try {
      await folder.write('bottles/dev.yaml', bottle(image))
      await folder.write('agents/impl.yaml', agent)
      const tree = await loadSpecTree(folder.path)
      expect(tree.errors.map((e) => e.message)).toEqual(errors)
      expect(tree.agents.has('impl')).toBe(errors.length === 0)
    } finally {
      await folder.dispose()
    }
  })
})
