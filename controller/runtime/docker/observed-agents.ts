/**
 * Turns the engine's list answers (containers, networks, volumes carrying
 * this instance's labels) into ObservedAgents. Pure: observe() makes the
 * three list calls and hands the results here.
 */
import type Dockerode from 'dockerode'
import type { ObservedAgent, ObservedPart, PartName, PartState } from '../driver.js'
import { internalNetworkIsIsolated } from './network-options.js'
import { dockerNames, isOwned, LABEL, type DockerNames } from './names.js'

const STATES: Record<string, PartState> = {
  created: 'created',
  running: 'running',
  paused: 'paused',
  restarting: 'restarting',
  exited: 'stopped',
  removing: 'dead',
  dead: 'dead',
}

type ContainerFacts = Pick<Dockerode.ContainerInfo, 'Id' | 'Names' | 'Image' | 'State' | 'Status' | 'Labels'> & {
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> }
}
type NetworkFacts = Pick<Dockerode.NetworkInspectInfo, 'Name' | 'Internal' | 'Options' | 'Labels'>
type VolumeFacts = Pick<Dockerode.VolumeInspectInfo, 'Name'> & { Labels?: Record<string, string> | null }

interface Draft {
  names: DockerNames
  parts: Partial<Record<PartName, ObservedPart>>
  internal: boolean
  egress: boolean
  volume: boolean
  infrastructure: string[]
}

/** "Exited (137) 5 minutes ago" -> 137; the list answer carries no other exit code. */
export function exitCodeFromStatus(status: string | undefined): number | undefined {
  const match = /^Exited \((-?\d+)\)/.exec(status ?? '')
  return match ? Number(match[1]) : undefined
}

function toPart(container: ContainerFacts, names: DockerNames): ObservedPart {
  const part: ObservedPart = {
    id: container.Id,
    name: (container.Names[0] ?? container.Id).replace(/^\//, ''),
    state: STATES[container.State] ?? 'dead',
    hash: container.Labels[LABEL.specHash],
    image: container.Image,
  }
  if (container.Labels[LABEL.runsToCompletion] === 'true') part.runsToCompletion = true
  const exitCode = exitCodeFromStatus(container.Status)
  if (part.state === 'stopped' && exitCode !== undefined) part.exitCode = exitCode
  const address = container.NetworkSettings?.Networks?.[names.internalNetwork]?.IPAddress
  if (address) part.internalAddress = address
  return part
}

export function groupObserved(
  instance: string,
  containers: ContainerFacts[],
  networks: NetworkFacts[],
  volumes: VolumeFacts[],
  options: { workspaceVolume: boolean } = { workspaceVolume: true },
): ObservedAgent[] {
  const drafts = new Map<string, Draft>()
  const draftFor = (labels: Record<string, string> | null | undefined): Draft | undefined => {
    // The engine filtered by label already; checking again costs nothing and
    // keeps a mislabelled object from ever being reported as ours.
    if (!isOwned(labels, instance)) return undefined
    const agent = labels?.[LABEL.agent]
    if (agent === undefined) return undefined
    let draft = drafts.get(agent)
    if (draft === undefined) {
      let names: DockerNames
      try {
        names = dockerNames(instance, agent)
      } catch {
        return undefined
      }
      draft = { names, parts: {}, internal: false, egress: false, volume: false, infrastructure: [] }
      drafts.set(agent, draft)
    }
    return draft
  }

  for (const container of containers) {
    const draft = draftFor(container.Labels)
    const role = container.Labels?.[LABEL.role]
    if (draft === undefined || (role !== 'agent' && role !== 'sidecars')) continue
    const part = toPart(container, draft.names)
    const existing = draft.parts[role]
    // Two containers claiming one role can only come from outside tampering;
    // the one with the deterministic name is the one the driver manages.
    if (existing === undefined || part.name === (role === 'agent' ? draft.names.agent : draft.names.sidecars)) {
      draft.parts[role] = part
    }
  }
  for (const network of networks) {
    const draft = draftFor(network.Labels)
    if (draft === undefined) continue
    const role = network.Labels?.[LABEL.role]
    if (role === 'network-internal' && network.Name === draft.names.internalNetwork) {
      draft.infrastructure.push(network.Name)
      draft.internal = internalNetworkIsIsolated(network)
    } else if (role === 'network-egress' && network.Name === draft.names.egressNetwork) {
      draft.infrastructure.push(network.Name)
      draft.egress = true
    }
  }
  for (const volume of volumes) {
    const draft = draftFor(volume.Labels)
    if (draft === undefined) continue
    if (volume.Labels?.[LABEL.role] === 'workspace' && volume.Name === draft.names.workspace) {
      draft.infrastructure.push(volume.Name)
      draft.volume = true
    }
  }

  return [...drafts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([agent, draft]) => {
      const observed: ObservedAgent = {
        agent,
        parts: draft.parts,
        infrastructureReady: draft.internal && draft.egress && (draft.volume || !options.workspaceVolume),
        infrastructure: draft.infrastructure.sort(),
      }
      if (draft.volume) observed.workspace = draft.names.workspace
      return observed
    })
}
