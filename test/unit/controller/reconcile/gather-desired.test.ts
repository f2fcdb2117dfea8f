import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentLayout } from '../../../../controller/plan/agent-layout.js'
import { gatherDesired, type DesiredSources } from '../../../../controller/reconcile/gather-desired.js'
import type { ImageRequest } from '../../../../controller/runtime/images.js'
import { loadSpecTree, type ResolvedAgent } from '../../../../controller/spec/load-spec-tree.js'
import { agentSpec, BOTTLE_DEV } from '../../../helpers/fake-controller.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

const images = { resolve: async (request: ImageRequest) => `${request.kind}:1` }

let specs: TempFolder
let agent: ResolvedAgent

beforeAll(async () => {
  specs = await TempFolder.create('bottle-gather-')
  await specs.write('bottles/dev.yaml', BOTTLE_DEV)
  await specs.write('skills/review/SKILL.md', '# review\n')
  await specs.write('agents/impl.yaml', agentSpec('impl', '  skills: [review]\n'))
  agent = (await loadSpecTree(specs.path)).agents.get('impl')!
})

afterAll(async () => {
  await specs.dispose()
})

const sources = (extra: Partial<DesiredSources> = {}): DesiredSources => ({
  specRoot: specs.path,
  layout: agentLayout('/state', 'impl'),
  images,
  env: {},
  homeDir: '/home/u',
  bundleUser: '0:0',
  caCertPem: async () => 'PEM',
  ...extra,
})

const egressSecrets = (files: { path: string; content: string }[]) => JSON.parse(files.find((f) => f.path === 'sidecars/egress/secrets.json')!.content) as Record<string, string>

describe('gatherDesired', () => {
  it('reads the secrets the rendered configs name, with the CA, skills and images', async () => {
    const gathered = await gatherDesired(agent, sources({ env: { GH_TOKEN: 'from-env' } }))
    expect(egressSecrets(gathered.desired.files)).toEqual({ 'env.GH_TOKEN': 'from-env' })
    expect(gathered.desired.files.find((f) => f.path === 'agent/ca.crt')?.content).toBe('PEM')
    expect(gathered.desired.files.some((f) => f.path === 'agent/skills/review/SKILL.md')).toBe(true)
    expect(gathered.desired.parts.agent.image).toBe('agent:1')
    expect(gathered.imageRequests).toEqual({ agent: { kind: 'agent', provider: 'claude' }, sidecars: { kind: 'sidecars' } })
    expect(gathered.problems).toEqual([])
  })

  it('says which secret is missing, by reference, before anything later can fail', async () => {
    const told: string[][] = []
    const failing = { resolve: async () => Promise.reject(new Error('engine down')) }
    await expect(gatherDesired(agent, sources({ images: failing, onSecrets: (_values, problems) => told.push([...problems]) }))).rejects.toThrow('engine down')
    expect(told).toEqual([[expect.stringContaining('env:GH_TOKEN')]])
  })

  it('lets known values (what the controller already wrote) stand over the environment', async () => {
    const gathered = await gatherDesired(agent, sources({ env: { GH_TOKEN: 'from-env' }, knownSecrets: new Map([['env.GH_TOKEN', 'written']]) }))
    expect(egressSecrets(gathered.desired.files)).toEqual({ 'env.GH_TOKEN': 'written' })
  })
})
