import { loadSpecTree } from '../../../../../controller/spec/load-spec-tree.js'
import type { ResolvedAgent } from '../../../../../controller/spec/load-spec-tree.js'
import type { Proposal } from '../../../../../controller/spec/generated/spec-types.js'
import { TempFolder } from '../../../../helpers/temp-folder.js'

export const BOTTLE = `# the dev box
apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: registry.npmjs.org   # packages
      - host: "*.cdn.example.net"
  supervise: {enabled: true}
`

export const AGENT = `apiVersion: bottle.dev/v1alpha1
kind: Agent
metadata: {name: impl}
spec:
  bottle: dev
  auth: {tokenRef: {env: CLAUDE_TOKEN}}
`

/** A spec folder with the given files (defaults: bottles/dev.yaml and agents/impl.yaml). */
export async function specFolder(files: Record<string, string> = { 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT }): Promise<TempFolder> {
  const folder = await TempFolder.create('bottle-proposals-')
  for (const [path, text] of Object.entries(files)) await folder.write(path, text)
  return folder
}

export async function resolvedAgent(folder: TempFolder, name = 'impl'): Promise<ResolvedAgent> {
  const tree = await loadSpecTree(folder.path)
  const agent = tree.agents.get(name)
  if (!agent) throw new Error(`agent ${name} did not load: ${tree.errors.map((e) => e.message).join('; ')}`)
  return agent
}

export function proposal(name: string, host: string, options: { agent?: string; bottle?: string; phase?: 'Pending' | 'Approved' | 'Rejected'; createdAt?: string } = {}): Proposal {
  return {
    apiVersion: 'bottle.dev/v1alpha1',
    kind: 'Proposal',
    metadata: { name, creationTimestamp: options.createdAt ?? '2025-06-01T11:30:00.000Z' },
    spec: { agent: options.agent ?? 'impl', bottle: options.bottle ?? 'dev', route: { host }, reason: 'needed' },
    status: { phase: options.phase ?? 'Pending' },
  }
}
