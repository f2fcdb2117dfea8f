/**
 * How a PartSpec becomes a Docker container: pure, so the hardening can be
 * read and tested in one place.
 *
 * Agent part (runs code we do not trust):
 *  - on the internal network only;
 *  - every capability dropped except CHOWN, SETUID and SETGID, which the
 *    image's entrypoint needs as root to hand files to the agent and drop to
 *    it, and KILL, without which Docker's init (root) may not pass SIGTERM on
 *    to the agent's processes (another uid) and `docker stop` turns into a
 *    crash. None survive the drop to the agent user. Without NET_RAW and
 *    NET_ADMIN nothing in the box can forge frames, change routes or
 *    re-enable IPv6, which the network recipe relies on;
 *  - no-new-privileges, so nothing after the drop (setuid binaries, file
 *    capabilities) can climb back;
 *  - DNS: Docker's embedded resolver (127.0.0.11) still answers the names of
 *    the internal network (egress, git-gate, ...), but it forwards every
 *    other name to the container's configured servers, even on an internal
 *    network, and a loopback server of the host is dialled from the host
 *    itself. Pointing the agent at 127.0.0.1 keeps those lookups inside its
 *    own network namespace, where nothing answers: no query leaves the box.
 *    The embedded resolver then never replies at all, so a one-second,
 *    one-attempt resolver setting makes such lookups fail in about a second
 *    instead of twenty;
 *  - IPv6 off, a pids limit, the Agent's cpu and memory limits, and
 *    Docker's init as PID 1 when the spec asks for one (reaps orphans,
 *    passes signals on).
 * Sidecars part: on both networks, as the controller's uid:gid, with no
 * capabilities at all, answering on the internal network to the names the
 * plan gives it (`aliases`). A bundle host whose boxes cannot reach the
 * engine's bridge addresses also publishes its ports on the Agent's
 * loopback address (`publish`, see loopback-publish.ts); the agent part
 * never publishes anything.
 */
import type Dockerode from 'dockerode'
import type { Mount, PartName, PartSpec } from '../driver.js'
import { loopbackPortBindings, type LoopbackPublish } from './loopback-publish.js'
import { LABEL, ownershipLabels, partContainerName, type DockerNames } from './names.js'

export const AGENT_CAPABILITIES = ['CHOWN', 'KILL', 'SETUID', 'SETGID'] as const

/** The agent's lookups of outside names go here, inside its own network namespace. */
export const AGENT_DNS = ['127.0.0.1']
export const AGENT_DNS_OPTIONS = ['timeout:1', 'attempts:1']

export const PIDS_LIMIT: Record<PartName, number> = { agent: 4096, sidecars: 1024 }

export interface ContainerOptionsInput {
  instance: string
  agent: string
  part: PartName
  spec: PartSpec
  names: DockerNames
  /** OCI runtime to run the part with (runsc for gVisor); absent: the engine default. */
  ociRuntime?: string
  /** The bundle's ports on the Agent's loopback address; taken by the sidecars part only. */
  publish?: LoopbackPublish
}

function toDockerMount(mount: Mount, names: DockerNames): Dockerode.MountSettings {
  if (mount.kind === 'bind') {
    return { Type: 'bind', Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly }
  }
  return { Type: 'volume', Source: names.workspace, Target: mount.target, ReadOnly: false }
}

function resourceLimits(spec: PartSpec): Partial<Dockerode.HostConfig> {
  const limits: Partial<Dockerode.HostConfig> = {}
  if (spec.resources?.cpus !== undefined) limits.NanoCpus = Math.round(spec.resources.cpus * 1e9)
  if (spec.resources?.memoryMiB !== undefined) {
    limits.Memory = spec.resources.memoryMiB * 1024 * 1024
    // Equal to Memory: no swap on top, so the limit is the limit.
    limits.MemorySwap = limits.Memory
  }
  return limits
}

export function containerCreateOptions(input: ContainerOptionsInput): Dockerode.ContainerCreateOptions {
  const { instance, agent, part, spec, names } = input
  const isAgent = part === 'agent'
  const hostConfig: Dockerode.HostConfig = {
    NetworkMode: names.internalNetwork,
    Mounts: spec.mounts.map((mount) => toDockerMount(mount, names)),
    Init: spec.init,
    CapDrop: ['ALL'],
    CapAdd: isAgent ? [...AGENT_CAPABILITIES] : [],
    SecurityOpt: ['no-new-privileges:true'],
    PidsLimit: PIDS_LIMIT[part],
    // A task is retried by the engine, which backs off between attempts (and survives a controller restart).
    RestartPolicy: spec.restart && spec.restart.onFailure > 0 ? { Name: 'on-failure', MaximumRetryCount: spec.restart.onFailure } : { Name: 'no' },
    ...resourceLimits(spec),
  }
  if (isAgent) {
    hostConfig.Dns = [...AGENT_DNS]
    hostConfig.DnsOptions = [...AGENT_DNS_OPTIONS]
    // gVisor has its own network stack and refuses most sysctls; it has no IPv6 route out either.
    if (input.ociRuntime !== 'runsc') {
      hostConfig.Sysctls = { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' }
    }
  }
  if (input.ociRuntime !== undefined) hostConfig.Runtime = input.ociRuntime
  const published = input.publish === undefined ? undefined : loopbackPortBindings(part, input.publish)
  if (published !== undefined) hostConfig.PortBindings = published.PortBindings

  const options: Dockerode.ContainerCreateOptions = {
    name: partContainerName(names, part),
    Image: spec.image,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...ownershipLabels(instance, agent, part), [LABEL.specHash]: spec.hash, ...(spec.restart ? { [LABEL.runsToCompletion]: 'true' } : {}) },
    HostConfig: hostConfig,
    NetworkingConfig: {
      EndpointsConfig: {
        [names.internalNetwork]: spec.aliases?.length ? { Aliases: [...new Set(spec.aliases)] } : {},
      },
    },
  }
  if (published !== undefined) options.ExposedPorts = published.ExposedPorts
  if (isAgent) options.Hostname = agent
  if (spec.command !== undefined) options.Cmd = spec.command
  if (spec.user !== undefined) options.User = spec.user
  if (spec.workdir !== undefined) options.WorkingDir = spec.workdir
  return options
}
