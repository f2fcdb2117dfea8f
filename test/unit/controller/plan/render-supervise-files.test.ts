import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { superviseFiles } from '../../../../controller/plan/render-supervise-files.js'
import { loadSpecTree, type SpecTree } from '../../../../controller/spec/load-spec-tree.js'
import { parseSuperviseConfig } from '../../../../sidecars/supervise/supervise-config.js'
import type { TempFolder } from '../../../helpers/temp-folder.js'
import { AGENT, BOTTLE, specFolder } from '../proposals/support/spec-folder.js'

const URL = 'http://supervise:9100/mcp'
let folder: TempFolder
let tree: SpecTree

beforeAll(async () => {
  folder = await specFolder({
    'bottles/dev.yaml': BOTTLE,
    'agents/impl.yaml': AGENT,
    'bottles/plain.yaml': 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: plain}\nspec: {supervise: {enabled: false}}\n',
    'agents/quiet.yaml': 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: quiet}\nspec: {bottle: plain}\n',
  })
  tree = await loadSpecTree(folder.path)
})

afterAll(async () => {
  await folder.dispose()
})

describe('superviseFiles', () => {
  it('renders the daemon config the daemon accepts and the MCP entry for the agent', () => {
    const [config, mcp, ...rest] = superviseFiles(tree.agents.get('impl')!, URL, { maxPending: 4, maxPerHour: 9 })
    expect(rest).toEqual([])
    expect(config).toMatchObject({ path: 'sidecars/supervise/config.json', mode: 0o600, secret: false, onChange: 'none' })
    expect(parseSuperviseConfig(config!.content)).toEqual({ ok: true, value: { version: 1, agent: 'impl', bottle: 'dev', limits: { maxPending: 4, maxPerHour: 9 } } })
    expect(mcp).toMatchObject({ path: 'agent/mcp.json', mode: 0o644, secret: false, onChange: 'none' })
    expect(JSON.parse(mcp!.content)).toEqual({ mcpServers: { supervise: { type: 'http', url: URL } } })
  })

  it('renders nothing when the Bottle does not enable supervise', () => {
    expect(superviseFiles(tree.agents.get('quiet')!, URL)).toEqual([])
  })

  it('is pure: the same agent gives the same bytes', () => {
    expect(superviseFiles(tree.agents.get('impl')!, URL)).toEqual(superviseFiles(tree.agents.get('impl')!, URL))
  })
})
