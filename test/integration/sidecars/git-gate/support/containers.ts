/**
 * Docker plumbing for the git gate's integration tests: a labelled test
 * network, containers from the offline base image, exec with stdin, and a
 * clean-up that removes everything carrying this run's label.
 */
import { randomBytes } from 'node:crypto'
import Dockerode from 'dockerode'

export const docker = new Dockerode()
export const RUN_LABEL = 'bottle.dev/test-run'

export function uniqueRun(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

export async function exec(
  container: string,
  argv: string[],
  options: { user?: string; env?: Record<string, string>; stdin?: string | Buffer; workdir?: string } = {},
): Promise<ExecResult> {
  const withStdin = options.stdin !== undefined
  const instance = await docker.getContainer(container).exec({
    Cmd: argv,
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    ...(options.user ? { User: options.user } : {}),
    ...(options.workdir ? { WorkingDir: options.workdir } : {}),
    ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
  })
  const stream = (await instance.start({ hijack: withStdin, stdin: withStdin })) as NodeJS.ReadWriteStream
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  await new Promise<void>((resolve, reject) => {
    docker.modem.demuxStream(
      stream,
      { write: (chunk: Buffer) => stdout.push(chunk) } as unknown as NodeJS.WritableStream,
      { write: (chunk: Buffer) => stderr.push(chunk) } as unknown as NodeJS.WritableStream,
    )
    stream.once('end', resolve)
    stream.once('close', resolve)
    stream.once('error', reject)
    if (withStdin) stream.end(options.stdin as Buffer)
  })
  // The output can end a while before the engine marks the exec finished: seconds, on a loaded 2-core machine.
  let exitCode: number | null = null
  for (let i = 0; i < 600 && exitCode === null; i++) {
    const info = await instance.inspect()
    if (!info.Running) exitCode = info.ExitCode ?? null
    else await new Promise((r) => setTimeout(r, 50))
  }
  return { exitCode: exitCode ?? -1, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }
}

export async function createNetwork(name: string, run: string): Promise<void> {
  await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { [RUN_LABEL]: run } })
}

export interface ContainerSpec {
  name: string
  image: string
  network: string
  aliases: string[]
  cmd?: string[]
  env?: Record<string, string>
  user?: string
  binds?: string[]
  init?: boolean
}

export async function startContainer(run: string, spec: ContainerSpec): Promise<string> {
  const container = await docker.createContainer({
    name: spec.name,
    Image: spec.image,
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { [RUN_LABEL]: run },
    HostConfig: { NetworkMode: spec.network, Binds: spec.binds ?? [], Init: spec.init ?? true },
    // Aliases exist only on user-defined networks; a container on the host's network has none.
    ...(spec.network === 'host' ? {} : { NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: spec.aliases } } } }),
  })
  await container.start()
  return spec.name
}

export async function addressOf(container: string, network: string): Promise<string> {
  const info = await docker.getContainer(container).inspect()
  return info.NetworkSettings.Networks[network]?.IPAddress ?? ''
}

export async function logsOf(container: string): Promise<string> {
  const raw = (await docker.getContainer(container).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer
  // Without a TTY, each frame has an 8-byte header.
  const out: Buffer[] = []
  for (let offset = 0; offset + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(offset + 4)
    out.push(raw.subarray(offset + 8, offset + 8 + size))
    offset += 8 + size
  }
  return Buffer.concat(out).toString('utf8')
}

/** Remove every container and network of this run. */
export async function removeRun(run: string): Promise<void> {
  const filters = { label: [`${RUN_LABEL}=${run}`] }
  const containers = await docker.listContainers({ all: true, filters })
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)))
  const networks = await docker.listNetworks({ filters })
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)))
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out waiting for ${what}`)
}
