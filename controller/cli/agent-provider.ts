import { resolve } from 'node:path'
import { PROVIDERS, type ProviderName } from '../plan/provider-runtime.js'
import { didYouMean } from '../spec/did-you-mean.js'
import { loadSpecTree } from '../spec/load-spec-tree.js'
import { CliError } from './cli-error.js'
import { listObjects } from './commands/get.js'

/**
 * The provider an Agent's spec names (claude when it names none), read from
 * the spec folder the way `get` and `describe` read it: as written, so an
 * Agent whose spec has since turned invalid still resolves while its last
 * good box keeps running.
 */
export async function agentProvider(dir: string, name: string): Promise<ProviderName> {
  const objects = (await listObjects(await loadSpecTree(resolve(dir)))).filter((o) => o.kind === 'Agent')
  const agent = objects.find((o) => o.name === name)
  if (!agent) {
    const guess = didYouMean(name, objects.map((o) => o.name))
    throw new CliError(`agent "${name}" not found in ${dir}${guess ? ` (did you mean "${guess}"?)` : ''}; --dir names the spec folder`)
  }
  const provider = agent.spec.provider ?? 'claude'
  if (!PROVIDERS.includes(provider as ProviderName)) {
    throw new CliError(`agent "${name}" (${agent.file}) names provider "${String(provider)}"; use one of ${PROVIDERS.join(', ')}`)
  }
  return provider as ProviderName
}
