/**
 * Deterministic names and ownership labels of the Docker objects one Agent
 * owns. Names let a restarted controller find its objects again; labels say
 * which objects are its to touch at all. An object without
 * `bottle.dev/managed=true` and this controller's instance is never changed.
 *
 *   instance "default", agent "dev":  bottle-dev-agent, bottle-dev-sidecars,
 *                                      bottle-dev-internal, bottle-dev-egress,
 *                                      bottle-dev-workspace
 *   instance "ci", agent "dev":        bottle-ci-dev-agent, ...
 */
import { AGENT_NAME } from '../agent-names.js'
import type { PartName } from '../driver.js'

export const LABEL = {
  managed: 'bottle.dev/managed',
  instance: 'bottle.dev/instance',
  agent: 'bottle.dev/agent',
  role: 'bottle.dev/role',
  specHash: 'bottle.dev/spec-hash',
  /** On a part that runs to completion (an Agent's task) rather than until stopped. */
  runsToCompletion: 'bottle.dev/runs-to-completion',
  /** Version of the isolation recipe an internal network was created with. */
  isolation: 'bottle.dev/isolation',
} as const

export type ObjectRole = PartName | 'network-internal' | 'network-egress' | 'workspace'

export const DEFAULT_INSTANCE = 'default'

const INSTANCE_NAME = /^[a-z][a-z0-9-]{0,30}$/
/**
 * The owner an object's labels and names carry: the instance, and for the
 * bundles of another runtime's boxes (a VM's bundle is a container) that
 * runtime after a dot. No instance name has a dot, so the docker runtime
 * of one instance never sees the vm runtime's containers as its own.
 */
const OWNER_NAME = /^[a-z][a-z0-9-]{0,30}(\.[a-z]{1,16})?$/

/** The owner name of `instance`'s objects that belong to `runtime`'s boxes (docker's own: the instance itself). */
export function runtimeOwner(instance: string, runtime = 'docker'): string {
  assertInstanceName(instance)
  if (runtime === 'docker') return instance
  const owner = `${instance}.${runtime}`
  if (!OWNER_NAME.test(owner)) throw new InvalidNameError(`runtime "${runtime}" cannot name an owner`)
  return owner
}

export interface DockerNames {
  prefix: string
  agent: string
  sidecars: string
  internalNetwork: string
  egressNetwork: string
  workspace: string
}

export class InvalidNameError extends Error {
  override readonly name = 'InvalidNameError'
}

export function assertInstanceName(instance: string): void {
  if (!INSTANCE_NAME.test(instance)) {
    throw new InvalidNameError(`instance "${instance}" must match ${INSTANCE_NAME.source}`)
  }
}

export function assertAgentName(agent: string): void {
  if (!AGENT_NAME.test(agent)) throw new InvalidNameError(`agent "${agent}" must match ${AGENT_NAME.source}`)
}

/** `instance` may be an owner from runtimeOwner(). */
export function dockerNames(instance: string, agent: string): DockerNames {
  if (!OWNER_NAME.test(instance)) throw new InvalidNameError(`instance "${instance}" must match ${INSTANCE_NAME.source}`)
  assertAgentName(agent)
  const prefix = instance === DEFAULT_INSTANCE ? `bottle-${agent}` : `bottle-${instance}-${agent}`
  return {
    prefix,
    agent: `${prefix}-agent`,
    sidecars: `${prefix}-sidecars`,
    internalNetwork: `${prefix}-internal`,
    egressNetwork: `${prefix}-egress`,
    workspace: `${prefix}-workspace`,
  }
}

export function partContainerName(names: DockerNames, part: PartName): string {
  return part === 'agent' ? names.agent : names.sidecars
}

export function ownershipLabels(instance: string, agent: string, role: ObjectRole): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.instance]: instance,
    [LABEL.agent]: agent,
    [LABEL.role]: role,
  }
}

/** Label filters selecting every object of one instance (and optionally one agent). */
export function ownershipFilter(instance: string, agent?: string): string[] {
  const filters = [`${LABEL.managed}=true`, `${LABEL.instance}=${instance}`]
  if (agent !== undefined) filters.push(`${LABEL.agent}=${agent}`)
  return filters
}

/** True when `labels` mark an object as this instance's (and this agent's, when given). */
export function isOwned(labels: Record<string, string> | null | undefined, instance: string, agent?: string): boolean {
  if (!labels) return false
  return (
    labels[LABEL.managed] === 'true' &&
    labels[LABEL.instance] === instance &&
    (agent === undefined || labels[LABEL.agent] === agent)
  )
}
