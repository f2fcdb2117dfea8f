/**
 * The egress daemon in a real container, on a real Docker network, with real
 * curl in another container as the agent: CONNECT and interception with the
 * agent CA, credential injection, path rules, refusals (unlisted host,
 * metadata address, private address, secret in the query) and a live route
 * added by editing the mounted config folder, without restarting anything.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Dockerode from 'dockerode'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../../controller/runtime/docker/image-store.js'
import { parseAppliedState, type EgressAppliedState } from '../../../../sidecars/shared/bundle-contract.js'
import { createLeafCertificates, mintCertificateAuthority } from '../../../../sidecars/egress/certificates.js'
import type { EgressConfigInput } from '../../../../sidecars/egress/config.js'
import { bundleEgress } from './support/bundle.js'

const docker = new Dockerode()
const run = randomBytes(3).toString('hex')
const LABELS = { 'bottle.test': 'egress', 'bottle.test.run': run }
const TOKEN = `bt_${randomBytes(18).toString('base64url')}`
const NETWORK = `bottle-egress-test-${run}`

// A dependency-free HTTPS origin: answers with what it saw, hashing the Authorization header.
const ORIGIN_SCRIPT = `
import { createServer } from 'node:https'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
createServer({ cert: readFileSync('/work/origin.crt'), key: readFileSync('/work/origin.key') }, (req, res) => {
  req.resume()
  req.on('end', () => {
    const auth = req.headers.authorization
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ path: req.url, host: req.headers.host, auth: auth === undefined ? null : createHash('sha256').update(auth).digest('hex') }))
  })
}).listen(443)
`

let work: string
let image: string
let subnetOrigin: string
let otherIp: string
const containers: Dockerode.Container[] = []

async function start(name: string, cmd: string[], aliases: string[], binds: string[]): Promise<Dockerode.Container> {
  const container = await docker.createContainer({
    name: `${NETWORK}-${name}`,
    Image: image,
    Entrypoint: cmd.slice(0, 1),
    Cmd: cmd.slice(1),
    Labels: LABELS,
    HostConfig: { Binds: binds, NetworkMode: NETWORK },
    NetworkingConfig: { EndpointsConfig: { [NETWORK]: { Aliases: aliases } } },
  })
  containers.push(container)
  await container.start()
  return container
}

async function ipOf(container: Dockerode.Container): Promise<string> {
  const info = await container.inspect()
  return info.NetworkSettings.Networks[NETWORK]?.IPAddress ?? ''
}

/** Run curl as the agent, options from a config file (so no URL or secret is on a command line). */
async function curl(options: string[]): Promise<{ output: string; status: number; connectStatus: number; exit: number }> {
  const name = `curl-${randomBytes(3).toString('hex')}`
  const configFile = join(work, 'agent', `${name}.conf`)
  const lines = ['silent', 'show-error', 'proxy = "http://egress:8888"', 'cacert = "/agent/agent-ca.crt"', 'max-time = 20', 'write-out = "\\n%{http_code} %{http_connect}"', ...options]
  await writeFile(configFile, `${lines.join('\n')}\n`)
  let output = ''
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      output += chunk.toString()
      callback()
    },
  })
  const [result, container] = (await docker.run(image, ['-K', `/agent/${name}.conf`], sink, {
    name: `${NETWORK}-${name}`,
    Entrypoint: ['curl'],
    Labels: LABELS,
    HostConfig: { Binds: [`${join(work, 'agent')}:/agent:ro`], NetworkMode: NETWORK, AutoRemove: false },
    Tty: true,
  })) as [{ StatusCode: number }, Dockerode.Container]
  await container.remove({ force: true }).catch(() => undefined)
  const [body, codes = ''] = [output.slice(0, output.lastIndexOf('\n')), output.slice(output.lastIndexOf('\n') + 1)]
  const [status, connectStatus] = codes.trim().split(' ').map(Number)
  return { output: body, status: status ?? 0, connectStatus: connectStatus ?? 0, exit: result.StatusCode }
}

async function egressLogs(): Promise<string> {
  return (await docker.getContainer(`${NETWORK}-egress`).logs({ stdout: true, stderr: true })).toString()
}

/** The egress log line matching `test`, waiting out the daemon's log buffering. */
async function waitForLogLine(test: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    for (const text of (await egressLogs()).split('\n')) {
      const start = text.indexOf('{')
      if (start === -1) continue
      try {
        const line = JSON.parse(text.slice(start)) as Record<string, unknown>
        if (test(line)) return line
      } catch {
        // a partial line
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('no matching egress log line')
}

async function writeConfig(config: EgressConfigInput): Promise<void> {
  const path = join(work, 'config', 'config.json')
  await writeFile(`${path}.tmp`, JSON.stringify(config))
  await rename(`${path}.tmp`, path)
}

async function applied(): Promise<EgressAppliedState> {
  return appliedState(await readFile(join(work, 'state', 'applied.json'), 'utf8'))
}

let originCa: { certPem: string }
function baseConfig(originIp: string): EgressConfigInput {
  return {
    allowPrivate: [`${originIp}/32`],
    upstreamCaCerts: [originCa.certPem],
    routes: [
      { host: 'api.origin.test', paths: ['/repos/me/'], auth: { scheme: 'Bearer', slot: 'github' } },
      { host: 'private.origin.test' },
      { host: '169.254.169.254' },
    ],
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bottle-egress-docker-'))
  await chmod(work, 0o755)
  for (const dir of ['config', 'state', 'agent', 'origin', 'bundle']) await mkdir(join(work, dir), { recursive: true })
  image = await new DockerImageStore({ docker, logger: pino({ level: 'silent' }) }).ensureBase((line) => process.stderr.write(`${line}\n`))
  await bundleEgress(join(work, 'bundle'))

  const ca = mintCertificateAuthority({ commonName: 'egress docker test origin CA' })
  originCa = ca
  const leaves = createLeafCertificates({ ca })
  const leaf = leaves.certificateFor('api.origin.test')
  await writeFile(join(work, 'origin', 'origin.mjs'), ORIGIN_SCRIPT)
  await writeFile(join(work, 'origin', 'origin.crt'), `${leaf.certPem}${ca.certPem}`)
  await writeFile(join(work, 'origin', 'origin.key'), leaves.keyPem)
  // The other names get their own origin containers with their own leaves.
  await writeFile(join(work, 'origin', 'other.crt'), `${leaves.certificateFor('other.origin.test').certPem}${ca.certPem}`)
  await writeFile(join(work, 'origin', 'other.mjs'), ORIGIN_SCRIPT.replace('/work/origin.crt', '/work/other.crt'))

  const agentCa = mintCertificateAuthority({ commonName: 'egress docker test agent CA' })
  await writeFile(join(work, 'config', 'ca.crt'), agentCa.certPem)
  await writeFile(join(work, 'config', 'ca.key'), agentCa.keyPem, { mode: 0o600 })
  await writeFile(join(work, 'config', 'secrets.json'), JSON.stringify({ github: TOKEN }), { mode: 0o600 })
  await writeFile(join(work, 'agent', 'agent-ca.crt'), agentCa.certPem)

  await docker.createNetwork({ Name: NETWORK, Labels: LABELS })
  const origin = await start('origin', ['node', '/work/origin.mjs'], ['api.origin.test'], [`${join(work, 'origin')}:/work:ro`])
  const other = await start('other', ['node', '/work/other.mjs'], ['private.origin.test', 'other.origin.test'], [`${join(work, 'origin')}:/work:ro`])
  subnetOrigin = await ipOf(origin)
  otherIp = await ipOf(other)
  await writeConfig(baseConfig(subnetOrigin))
  await start(
    'egress',
    ['node', '/opt/bottle/egress.mjs'],
    ['egress'],
    [`${join(work, 'bundle')}:/opt/bottle:ro`, `${join(work, 'config')}:/etc/bottle/egress:ro`, `${join(work, 'state')}:/var/lib/bottle/egress`],
  )
  for (let i = 0; i < 100; i++) {
    const state = await applied().catch(() => undefined)
    if (state?.configHash) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}, 600_000)

afterAll(async () => {
  for (const container of containers) await container.remove({ force: true }).catch(() => undefined)
  const leftovers = await docker.listContainers({ all: true, filters: { label: [`bottle.test.run=${run}`] } })
  for (const c of leftovers) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)
  await docker.getNetwork(NETWORK).remove().catch(() => undefined)
  await rm(work, { recursive: true, force: true })
})

describe('egress in a container, curl as the agent', () => {
  it('intercepts with the agent CA and injects the route credential', async () => {
    const result = await curl(['url = "https://api.origin.test/repos/me/app"', 'header = "Authorization: Bearer agent-placeholder"'])
    expect(result.exit).toBe(0)
    expect(result.status).toBe(200)
    expect(JSON.parse(result.output)).toEqual({ path: '/repos/me/app', host: 'api.origin.test', auth: createHash('sha256').update(`Bearer ${TOKEN}`).digest('hex') })
  })

  it('refuses a path outside the route with the marker', async () => {
    const result = await curl(['url = "https://api.origin.test/repos/other/app"'])
    expect(result.status).toBe(403)
    expect(result.output).toMatch(/^bottle-egress: path-not-allowed: /)
  })

  const refusedTunnels = [
    { name: 'a host no route lists', url: 'https://example.com/', rule: 'no-route' },
    { name: 'the metadata address', url: 'https://169.254.169.254/latest/meta-data/', rule: 'ssrf' },
    { name: 'a name resolving to a private address allowPrivate does not open', url: 'https://private.origin.test/', rule: 'ssrf' },
    { name: 'a direct IP', url: `https://${'10.255.255.1'}/`, rule: 'ip-literal' },
  ]
  it.each(refusedTunnels)('refuses CONNECT to $name with 403 before any tunnel', async ({ url, rule }) => {
    const host = new URL(url).hostname
    const result = await curl([`url = "${url}"`])
    expect(result.connectStatus).toBe(403)
    expect(result.exit).not.toBe(0)
    const denied = await waitForLogLine((line) => line.event === 'tunnel.denied' && line.host === host)
    expect(denied.rule).toBe(rule)
  })

  it('refuses a secret in the query, and never logs it', async () => {
    const result = await curl([`url = "https://api.origin.test/repos/me/search?q=${TOKEN}"`])
    expect(result.status).toBe(403)
    expect(result.output).toMatch(/^bottle-egress: dlp: /)
    await waitForLogLine((line) => line.rule === 'dlp')
    expect(await egressLogs()).not.toContain(TOKEN)
  })

  it('serves a route added by editing the mounted folder, without restarting the container', async () => {
    const before = await docker.getContainer(`${NETWORK}-egress`).inspect()
    expect((await curl(['url = "https://other.origin.test/x"'])).connectStatus).toBe(403)
    const config = baseConfig(subnetOrigin)
    config.allowPrivate?.push(`${otherIp}/32`)
    config.routes?.push({ host: 'other.origin.test' })
    const since = (await applied()).attemptedAt
    await writeConfig(config)
    for (let i = 0; i < 100 && (await applied()).attemptedAt === since; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await applied()).routes.map((r) => r.host)).toContain('other.origin.test')
    const result = await curl(['url = "https://other.origin.test/x"'])
    expect(result.status).toBe(200)
    expect(JSON.parse(result.output)).toMatchObject({ path: '/x', auth: null })
    const after = await docker.getContainer(`${NETWORK}-egress`).inspect()
    expect(after.State.StartedAt).toBe(before.State.StartedAt)
    expect(after.RestartCount).toBe(0)
  })
})

/** The report as the controller reads it: a file that is not one fails the test here. */
function appliedState(text: string): EgressAppliedState {
  const state = parseAppliedState(text)
  if (!state) throw new Error(`applied.json is not an applied-state report: ${text.slice(0, 200)}`)
  return state
}
