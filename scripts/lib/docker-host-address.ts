import Dockerode from 'dockerode'

/**
 * An address of this machine that containers on any bridge network can
 * dial: the gateway of Docker's default bridge (docker0). The demo and the
 * end-to-end tests run their stand-in origins there, behind a route with an
 * `upstream` and an `allowPrivate` for it.
 */
export async function dockerHostAddress(docker = new Dockerode()): Promise<string> {
  const bridge = await docker.getNetwork('bridge').inspect()
  const config = (bridge.IPAM?.Config ?? [])[0] as { Gateway?: string; Subnet?: string } | undefined
  if (config?.Gateway) return config.Gateway
  const subnet = config?.Subnet?.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)\//)
  if (!subnet) throw new Error("cannot find the Docker bridge's address (is the engine running?)")
  return `${subnet[1]}.${subnet[2]}.${subnet[3]}.${Number(subnet[4]) + 1}`
}
