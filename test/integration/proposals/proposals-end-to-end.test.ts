/**
 * The whole proposal path on a real Docker engine: a real controller, a
 * Bottle with supervise, and the MCP SDK's own client running inside the
 * agent's box (bundled here with esbuild and copied in). The agent proposes
 * a route, the Proposal file appears, `bottle approve` edits the Bottle, and
 * the route answers from inside the box within a second, with neither
 * container restarted.
 */
import { createServer, type Server } from 'node:http'
import { networkInterfaces } from 'node:os'
import { Writable } from 'node:stream'
import { Command, CommanderError } from 'commander'
import Dockerode from 'dockerode'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CliError } from '../../../controller/cli/cli-error.js'
import { registerProposalCommands } from '../../../controller/cli/commands/proposals.js'
import { packageRoot } from '../../../controller/package-root.js'
import { PROVIDERS } from '../../../controller/plan/providers.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../../helpers/controller-process.js'
import { runCli } from '../../helpers/run-cli.js'
import { bundleBoxClient } from '../../helpers/supervise-client.js'
import { TempFolder } from '../../helpers/temp-folder.js'

const docker = new Dockerode()
const instance = uniqueInstance('prop')
const agentContainer = `bottle-${instance}-impl-agent`
const sidecarsContainer = `bottle-${instance}-impl-sidecars`
const CLIENT_IN_BOX = '/tmp/supervise-client.mjs'

/**
 * An address of the host that the bundle's egress network can reach, where
 * the test origin listens, standing in for an API: docker0's when it is up,
 * else the host's own interface (never another test's bridge, which may go).
 */
function hostAddress(): string {
  const interfaces = networkInterfaces()
  const ranked = Object.keys(interfaces).sort((a, b) => rank(a) - rank(b))
  for (const name of ranked) {
    if (rank(name) > 1) break
    const address = interfaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address
    if (address) return address
  }
  throw new Error('no host address to serve the test origin on (no docker0 and no eth/en interface)')
}

function rank(name: string): number {
  return name === 'docker0' ? 0 : /^(eth|en)/.test(name) ? 1 : 2
}

const bottleSpec = (ip: string) => `# the dev box: one route, and the host's address allowed for the test origin
apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: registry.npmjs.org   # packages
    allowPrivate: [${ip}/32]
  supervise: {enabled: true}
`
/** Where the entrypoint registers MCP servers for Claude Code (under CLAUDE_CONFIG_DIR, in the sessions mount). */
const CLAUDE_STATE_FILE = `${PROVIDERS.claude.configDir}/.claude.json`
const AGENT = 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec:\n  bottle: dev\n'

/**
 * The agent's side: the SDK's Client over Streamable HTTP, at the URL the
 * entrypoint registered in Claude Code's .claude.json. Runs a list of tool calls and
 * prints the URL and every result as one JSON line.
 */
const CLIENT_SOURCE = `
import { readFileSync } from 'node:fs'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
const [claudeConfig, calls] = process.argv.slice(2)
const url = JSON.parse(readFileSync(claudeConfig, 'utf8')).mcpServers.supervise.url
const client = new Client({ name: 'agent-in-the-box', version: '1.0.0' })
await client.connect(new StreamableHTTPClientTransport(new URL(url)))
const results = []
for (const call of JSON.parse(calls)) results.push(await client.callTool(call))
await client.close()
process.stdout.write(JSON.stringify({ url, results }) + '\\n')
`

interface ToolResult {
  isError?: boolean
  content: { type: string; text: string }[]
  structuredContent?: Record<string, unknown>
}

/** Runs tool calls from inside the agent's box with the SDK client. */
async function callTools(calls: { name: string; arguments: Record<string, unknown> }[]): Promise<{ url: string; results: ToolResult[] }> {
  const run = await runCli(['exec', 'impl', '--instance', instance, '--', 'node', CLIENT_IN_BOX, CLAUDE_STATE_FILE, JSON.stringify(calls)])
  if (run.code !== 0) {
    const box = await runCli(['exec', 'impl', '--instance', instance, '--', 'sh', '-c', 'ls -la /home/agent /etc/bottle/agent /run'])
    throw new Error(`client failed (${run.code}): ${run.stderr}\nin the box:\n${box.stdout}${box.stderr}`)
  }
  return JSON.parse(run.stdout) as { url: string; results: ToolResult[] }
}

/** `bottle approve|reject ...`, in-process, with errors handled as main.ts does. */
async function bottle(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void) => new Writable({ write: (chunk: Buffer, _e, done) => (append(chunk.toString()), done()) })
  const io = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) }
  let code = 0
  const program = new Command('bottle').exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
  registerProposalCommands(program, io, (c) => (code = c))
  try {
    await program.parseAsync(['node', 'bottle', ...args])
  } catch (error) {
    if (error instanceof CommanderError) return { code: 2, stdout, stderr }
    return { code: error instanceof CliError ? error.exitCode : 1, stdout, stderr: `${stderr}error: ${(error as Error).message}\n` }
  }
  return { code, stdout, stderr }
}

async function containerId(name: string): Promise<string> {
  return (await docker.getContainer(name).inspect()).Id
}

async function waitForFile(folder: TempFolder, rel: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const text = await folder.readOptional(rel)
    if (text !== undefined) return text
    if (Date.now() > deadline) throw new Error(`${rel} never appeared`)
    await sleep(100)
  }
}

describe('proposals end to end: propose from the box, approve, the route is live without a restart', () => {
  let specs: TempFolder
  let state: TempFolder
  let scratch: TempFolder
  let controller: ControllerProcess
  let origin: Server
  let originPort: number
  let ip: string

  beforeAll(async () => {
    ip = hostAddress()
    origin = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`origin ${req.headers.host}${req.url}: hello\n`))
    await new Promise<void>((resolve) => origin.listen(0, '0.0.0.0', resolve))
    originPort = (origin.address() as { port: number }).port

    specs = await TempFolder.create('bottle-prop-specs-')
    state = await TempFolder.create('bottle-prop-state-')
    scratch = await TempFolder.create('bottle-prop-scratch-')
    await specs.write('bottles/dev.yaml', bottleSpec(ip))
    await specs.write('agents/impl.yaml', AGENT)
    controller = new ControllerProcess(specs, state, instance)
    controller.start()

    await scratch.write('supervise-client.mjs', await bundleBoxClient(CLIENT_SOURCE))
    await controller.waitForStatus('agents/impl.yaml', 'impl', isReady, 600_000)
    // Ready means running; the entrypoint marks when it has finished setting the box up (CA, Claude's .claude.json).
    const marked = await runCli(['exec', 'impl', '--instance', instance, '--', 'sh', '-c', 'for i in $(seq 300); do [ -f /run/bottle-agent-ready ] && exit 0; sleep 0.1; done; exit 1'])
    expect(marked.code).toBe(0)
    await execa('docker', ['cp', scratch.join('supervise-client.mjs'), `${agentContainer}:${CLIENT_IN_BOX}`])
  })

  afterAll(async () => {
    await controller?.stop()
    await removeInstance(docker, instance)
    origin?.close()
    await specs?.dispose()
    await state?.dispose()
    await scratch?.dispose()
  })

  it('the entrypoint registered the supervise server for Claude Code, and the tools list the live routes', async () => {
    const { url, results } = await callTools([{ name: 'list-egress-routes', arguments: {} }])
    expect(url).toBe('http://supervise:9100/mcp')
    const [list] = results
    expect(list?.isError).toBeFalsy()
    const routes = (list?.structuredContent as { routes: { host: string; authInjected: boolean }[] }).routes
    expect(routes.map((r) => r.host)).toEqual(['registry.npmjs.org'])
  })

  it('junk arguments are refused with a tool error and the server keeps serving', async () => {
    const { results } = await callTools([
      { name: 'propose-egress-route', arguments: { host: 'docs.origin.test', reason: 'x', allowPrivate: ['0.0.0.0/0'] } },
      { name: 'propose-egress-route', arguments: { host: '*.com', reason: 'everything' } },
      { name: 'proposal-status', arguments: { id: '../../etc/passwd' } },
      { name: 'list-egress-routes', arguments: {} },
    ])
    expect(results.slice(0, 3).map((r) => r.isError)).toEqual([true, true, true])
    expect(results[0]!.content[0]!.text).toMatch(/allowPrivate/)
    expect(results[1]!.content[0]!.text).toMatch(/wildcard over a top-level domain/)
    expect(results[3]!.isError).toBeFalsy()
  })

  it('propose, then approve: the Bottle diff is exactly the route, and it answers within 1 s with no restart', async () => {
    const before = { agent: await containerId(agentContainer), sidecars: await containerId(sidecarsContainer) }
    const bottleBefore = await specs.read('bottles/dev.yaml')

    const { results } = await callTools([{ name: 'propose-egress-route', arguments: { host: 'docs.origin.test', paths: ['/docs/'], reason: 'the build reads the docs index' } }])
    expect(results[0]?.isError).toBeFalsy()
    expect(results[0]?.structuredContent).toMatchObject({ id: 'impl-1', phase: 'Pending' })

    const proposalText = await waitForFile(specs, 'proposals/impl-1.yaml')
    expect(proposalText).toContain('kind: Proposal')
    const listed = await runCli(['get', 'proposals', '--dir', specs.path])
    expect(listed.stdout).toMatch(/^impl-1\s+impl\s+docs\.origin\.test\s+Pending$/m)
    const pending = await callTools([{ name: 'proposal-status', arguments: { id: 'impl-1' } }])
    expect(pending.results[0]?.structuredContent).toMatchObject({ id: 'impl-1', phase: 'Pending', host: 'docs.origin.test' })

    // Refused until approved: the proxy answers the CONNECT with 403.
    const refused = await runCli(['exec', 'impl', '--instance', instance, '--', 'sh', '-c', 'curl -s -o /dev/null --max-time 5 -w "%{http_connect}" https://docs.origin.test/docs/hello'])
    expect(refused.stdout).toBe('403')

    // Poll from inside the box, starting before the approve: it prints the time (ms) of the first 200.
    const poll = runCli([
      'exec', 'impl', '--instance', instance, '--', 'sh', '-c',
      'end=$(($(date +%s) + 60)); until [ "$(curl -s -o /tmp/body --max-time 2 -w "%{http_code}" https://docs.origin.test/docs/hello)" = 200 ]; do [ $(date +%s) -lt $end ] || exit 1; sleep 0.02; done; date +%s%3N; cat /tmp/body',
    ])
    await sleep(300)
    const approved = await bottle(['approve', 'impl-1', '--dir', specs.path, '--upstream', `http://${ip}:${originPort}`])
    const approvedAt = Date.now()
    expect(approved.stderr).toBe('')
    expect(approved.code).toBe(0)
    const newRoute = `      - host: docs.origin.test\n        paths: [/docs/]\n        upstream: "http://${ip}:${originPort}"\n`
    expect(approved.stdout).toContain(
      `@@ -6,5 +6,8 @@\n   egress:\n     routes:\n       - host: registry.npmjs.org   # packages\n${newRoute.replace(/^/gm, '+').replace(/\+$/, '')}     allowPrivate: [${ip}/32]\n   supervise: {enabled: true}\n`,
    )
    expect(await specs.read('bottles/dev.yaml')).toBe(bottleBefore.replace('   # packages\n', `   # packages\n${newRoute}`))

    const answered = await poll
    expect(answered.code).toBe(0)
    const [when, body] = answered.stdout.split('\n')
    const latencyMs = Number(when) - approvedAt
    expect(body).toBe('origin docs.origin.test/docs/hello: hello')
    expect(latencyMs).toBeLessThan(1000)
    process.stdout.write(`route answered ${latencyMs} ms after bottle approve returned\n`)

    expect({ agent: await containerId(agentContainer), sidecars: await containerId(sidecarsContainer) }).toEqual(before)

    // Only the approved path prefix.
    const other = await runCli(['exec', 'impl', '--instance', instance, '--', 'sh', '-c', 'curl -s --max-time 5 https://docs.origin.test/admin'])
    expect(other.stdout).toMatch(/^bottle-egress:/)

    const deadline = Date.now() + 10_000
    let status: ToolResult | undefined
    while (Date.now() < deadline) {
      status = (await callTools([{ name: 'proposal-status', arguments: { id: 'impl-1' } }])).results[0]
      if ((status?.structuredContent as { phase?: string } | undefined)?.phase === 'Approved') break
      await sleep(200)
    }
    expect(status?.structuredContent).toMatchObject({ id: 'impl-1', phase: 'Approved', live: true })
  })

  it('reject: the agent reads the reason through proposal-status, and the Bottle is unchanged', async () => {
    const bottleBefore = await specs.read('bottles/dev.yaml')
    const { results } = await callTools([{ name: 'propose-egress-route', arguments: { host: 'uploads.origin.test', reason: 'to upload build logs' } }])
    expect(results[0]?.structuredContent).toMatchObject({ id: 'impl-2' })
    await waitForFile(specs, 'proposals/impl-2.yaml')
    const rejected = await bottle(['reject', 'impl-2', '--reason', 'logs stay inside; write them to the workspace', '--dir', specs.path])
    expect(rejected).toMatchObject({ code: 0, stdout: 'proposal/impl-2 rejected (proposals/impl-2.yaml)\n' })
    const deadline = Date.now() + 10_000
    let status: ToolResult | undefined
    while (Date.now() < deadline) {
      status = (await callTools([{ name: 'proposal-status', arguments: { id: 'impl-2' } }])).results[0]
      if ((status?.structuredContent as { phase?: string } | undefined)?.phase === 'Rejected') break
      await sleep(200)
    }
    expect(status?.structuredContent).toMatchObject({ id: 'impl-2', phase: 'Rejected', message: 'logs stay inside; write them to the workspace' })
    expect(await specs.read('bottles/dev.yaml')).toBe(bottleBefore)
  })
})
