import { agentImageRequests } from '../plan/agent-image-request.js'
import type { AgentLayout } from '../plan/agent-layout.js'
import { desiredAgent, type DesiredAgent } from '../plan/desired-agent.js'
import type { SecretValues } from '../plan/secret-slots.js'
import { renderSidecarConfigs } from '../plan/sidecar-configs.js'
import type { ImageRequest, ImageStore } from '../runtime/images.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { readIdentityFiles } from './read-identity-files.js'
import { readSkills } from './read-skills.js'
import { resolveSecrets } from './resolve-secrets.js'

/** Where one reconcile's inputs come from; the reconciler and `bottle diff` differ only here. */
export interface DesiredSources {
  /** The spec repo: Dockerfiles and skills are read from it. */
  specRoot: string
  layout: AgentLayout
  images: Pick<ImageStore, 'resolve'>
  /** Where secret references of kind env are read, and the host login found. */
  env: NodeJS.ProcessEnv
  /** What `~/` means in identityFile paths (the controller user's home). */
  homeDir: string
  /** uid:gid the bundle runs as. */
  bundleUser: string
  /** Extra CA certificates (PEM) every bundle's egress trusts for origins. */
  upstreamCaCerts?: readonly string[]
  /** The Agent's CA certificate (PEM): the reconciler mints it on first use; diff only reads it. */
  caCertPem(): Promise<string>
  /** Values that stand in over those read from `env`, by slot: diff takes what the controller already wrote. */
  knownSecrets?: SecretValues
  /**
   * Told the secret values and what is missing as soon as they are read, so
   * a failure later in the gathering still reports them.
   */
  onSecrets?(values: SecretValues, problems: readonly string[]): void
}

export interface GatheredDesired {
  desired: DesiredAgent
  /** The images the parts run, to build when a part is created. */
  imageRequests: { agent: ImageRequest; sidecars: ImageRequest }
  /** Unavailable secrets and identity files, one line each (never a value). */
  problems: string[]
}

/**
 * Gathers everything one Agent's desired state depends on (its CA, secrets,
 * git identity files, skills, the host's CLI login, image references) and
 * computes it. The sidecar configs are rendered once: the slots they name
 * are read, and the same rendering is what gets written.
 */
export async function gatherDesired(agent: ResolvedAgent, sources: DesiredSources): Promise<GatheredDesired> {
  const caCertPem = await sources.caCertPem()
  const configs = renderSidecarConfigs(agent, {
    homeDir: sources.homeDir,
    ...(sources.upstreamCaCerts ? { upstreamCaCerts: sources.upstreamCaCerts } : {}),
  })
  const resolved = await resolveSecrets(configs.secrets, sources.env)
  const identities = await readIdentityFiles(configs.identityFiles)
  const secrets = sources.knownSecrets ? new Map([...resolved.values, ...sources.knownSecrets]) : resolved.values
  const problems = [...resolved.problems.map((p) => p.message), ...identities.problems]
  sources.onSecrets?.(secrets, problems)
  const imageRequests = agentImageRequests(agent, sources.specRoot)
  const images = { agent: await sources.images.resolve(imageRequests.agent), sidecars: await sources.images.resolve(imageRequests.sidecars) }
  const hostLoginAuth = resolved.codexLogin?.placeholderAuthJson
  const desired = desiredAgent({
    agent,
    layout: sources.layout,
    images,
    caCertPem,
    secrets,
    bundleUser: sources.bundleUser,
    configs,
    identities: identities.values,
    skills: readSkills(sources.specRoot, agent.spec.skills ?? []),
    ...(hostLoginAuth !== undefined ? { hostLoginAuth } : {}),
  })
  return { desired, imageRequests, problems }
}
