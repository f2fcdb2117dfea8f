import type Dockerode from 'dockerode'

/** An HTTP origin in node that prints each request's host and path before answering `origin <host><path>: hello`. */
const ORIGIN_SOURCE = `require('node:http').createServer((q, s) => { console.log('seen ' + q.headers.host + q.url); s.writeHead(200, {'content-type': 'text/plain'}).end('origin ' + q.headers.host + q.url + ': hello\\n') }).listen(80)`

export interface EgressOrigin {
  container: Dockerode.Container
  /** Every request it received so far, one `seen <host><path>` line each. */
  seen(): Promise<string>
}

/**
 * A local origin on an Agent's egress network under DNS aliases (so no
 * public name is needed), run from `image` (one with node: the bundle's).
 */
export async function startEgressOrigin(docker: Dockerode, options: { network: string; aliases: string[]; image: string; label: Record<string, string> }): Promise<EgressOrigin> {
  const container = await docker.createContainer({
    Image: options.image,
    Entrypoint: ['node', '-e', ORIGIN_SOURCE],
    User: '0:0',
    Labels: options.label,
    HostConfig: { NetworkMode: options.network },
    NetworkingConfig: { EndpointsConfig: { [options.network]: { Aliases: options.aliases } } },
  })
  await container.start()
  return { container, seen: async () => (await container.logs({ stdout: true, stderr: true })).toString('utf8') }
}
