/**
 * The demo: a controller on a fresh spec folder, one Agent in its bottle, and
 * what the bottle does, shown from inside the agent's box with real curl:
 *   1. the allowed route works, and the origin receives a token the agent never had;
 *   2. any other host is refused with the bottle-egress marker;
 *   3. a secret in a URL is refused by DLP;
 *   4. the box has no route out except its bundle;
 *   5. a route added to the Bottle file works a moment later, with no restart.
 * Run through `npm run demo` (scripts/demo sets everything up first).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { packageRoot } from '../controller/package-root.js'
import { dockerHostAddress } from './lib/docker-host-address.js'
import { createLeafCertificates, mintCertificateAuthority } from '../sidecars/egress/certificates.js'

const root = packageRoot()
const bottle = join(root, 'bin/bottle.js')
const instance = 'demo'
const work = mkdtempSync(join(tmpdir(), 'bottle-demo-'))
const specs = join(work, 'specs')
const state = join(work, 'state')
const token = `demo-${randomBytes(12).toString('hex')}`
const keep = process.argv.includes('--keep')

const bold = (s: string) => `\x1b[1m${s}\x1b[0m`
const say = (s: string) => process.stdout.write(`\n${bold(`== ${s}`)}\n`)

function run(args: string[], options: { quiet?: boolean } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bottle, ...args], { env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
      if (!options.quiet) process.stdout.write(d)
    })
    child.stderr.on('data', (d: Buffer) => {
      out += d
      if (!options.quiet) process.stdout.write(d)
    })
    child.on('exit', (code) => resolve({ code: code ?? 1, out }))
  })
}

/** curl inside the agent's box, printing the command and what came back. */
async function curl(label: string, args: string): Promise<string> {
  process.stdout.write(`${bold('$')} bottle exec builder -- curl ${args}\n`)
  const { out } = await run(['exec', 'builder', '--instance', instance, '--', 'sh', '-c', `curl -sS --max-time 5 ${args} 2>&1; echo`], { quiet: true })
  process.stdout.write(`${out.trim().split('\n').map((l) => `  ${l}`).join('\n')}\n  -> ${label}\n`)
  return out
}


/** A stand-in API over https, with a certificate from a CA of its own that only the operator's --upstream-ca trusts. */
function startOrigin(ip: string, caFile: string): Promise<{ server: Server; port: number }> {
  const ca = mintCertificateAuthority({ commonName: 'bottle demo origin CA' })
  writeFileSync(caFile, ca.certPem)
  const leaves = createLeafCertificates({ ca })
  const server = createServer({ cert: leaves.certificateFor(ip).certPem, key: leaves.keyPem }, (req, res) => {
    const auth = req.headers.authorization ?? ''
    const verdict = auth === `Bearer ${token}` ? 'the proxy injected the real token (the agent never had it)' : `no valid token (${auth ? 'wrong' : 'none'})`
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`origin ${req.headers.host}${req.url}: hello; ${verdict}\n`)
  })
  return new Promise((resolve) => server.listen(0, '0.0.0.0', () => resolve({ server, port: (server.address() as { port: number }).port })))
}

async function containerId(): Promise<string | undefined> {
  const text = readFileSync(join(specs, 'agents/builder.status.yaml'), 'utf8')
  for (const doc of parseAllDocuments(text) as unknown as { toJS(): { status?: { runtime?: { agent?: { id?: string } } } } }[]) {
    const id = doc.toJS()?.status?.runtime?.agent?.id
    if (id) return id
  }
  return undefined
}

async function main(): Promise<void> {
  const ip = await dockerHostAddress()
  const originCa = join(work, 'origin-ca.crt')
  const origin = await startOrigin(ip, originCa)
  cpSync(join(root, 'fixtures/demo/specs'), specs, { recursive: true })
  const bottleFile = join(specs, 'bottles/demo.yaml')
  writeFileSync(bottleFile, readFileSync(bottleFile, 'utf8').replaceAll('ORIGIN_ADDRESS', `${ip}:${origin.port}`).replaceAll('ORIGIN_IP', ip))

  say(`specs in ${specs}`)
  await run(['validate', '-f', specs])

  say('starting the controller (logs: ' + join(work, 'controller.log') + ')')
  const log = (await import('node:fs')).openSync(join(work, 'controller.log'), 'a')
  const controller: ChildProcess = spawn(process.execPath, [bottle, 'controller', '--dir', specs, '--instance', instance, '--state-dir', state, '--listen', '127.0.0.1:0', '--upstream-ca', originCa], {
    env: { ...process.env, DEMO_API_TOKEN: token },
    stdio: ['ignore', log, log],
  })
  let failed = false
  try {
    say('waiting for the agent to be Ready')
    // The agent is applied the way a user would, from a file outside the watched folder.
    const agentFile = join(work, 'agents/builder.md')
    cpSync(join(root, 'fixtures/demo/agents/builder.md'), agentFile)
    const applied = await run(['apply', '-f', agentFile, '--dir', specs, '--wait', '--timeout', '5m'])
    if (applied.code !== 0) throw new Error('the agent did not become Ready; see the controller log')
    await run(['get', 'agents', '--dir', specs])

    say('1. the allowed route; the token is injected on the way out')
    const ok = await curl('allowed', 'https://api.demo.internal/hello')
    if (!ok.includes('the proxy injected the real token')) failed = true
    await run(['exec', 'builder', '--instance', instance, '--', 'sh', '-c', 'if env | grep -q DEMO_API_TOKEN; then echo "  the token IS in the agent environment"; else echo "  and the agent has no DEMO_API_TOKEN in its environment"; fi'])

    say('2. a host that no route allows')
    if (!(await curl('refused', 'http://example.com/')).includes('bottle-egress:')) failed = true

    say('3. a secret in the URL (an AWS-shaped key)')
    if (!(await curl('refused by DLP', `"https://api.demo.internal/upload?key=AKIA${'Q3XM7RZ2P6N4KW5B'}"`)).includes('bottle-egress:')) failed = true

    say('4. around the proxy: a direct connection to an internet address')
    await curl('no route out of the box', '--noproxy "*" http://1.1.1.1/')

    say('5. edit the route list in the Bottle file: add docs.demo.internal')
    const before = await containerId()
    writeFileSync(bottleFile, readFileSync(bottleFile, 'utf8').replace('    allowPrivate:', `      - host: docs.demo.internal\n        upstream: https://${ip}:${origin.port}\n    allowPrivate:`))
    const started = Date.now()
    let reachable = ''
    while (Date.now() - started < 10_000) {
      const { out } = await run(['exec', 'builder', '--instance', instance, '--', 'sh', '-c', 'curl -s --max-time 2 https://docs.demo.internal/'], { quiet: true })
      if (out.includes('hello')) {
        reachable = out
        break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    process.stdout.write(`  docs.demo.internal answered ${((Date.now() - started) / 1000).toFixed(1)} s after the save (counting each bottle exec): ${reachable.trim()}\n`)
    const after = await containerId()
    process.stdout.write(`  agent container before ${before}, after ${after}: ${before === after ? 'not restarted' : 'RESTARTED'}\n`)
    if (!reachable || before !== after) failed = true

    say('the status file beside the agent spec')
    await run(['describe', 'agent', 'builder', '--dir', specs])
  } finally {
    controller.kill('SIGTERM')
    await new Promise((r) => controller.once('exit', r))
    origin.server.close()
    if (!keep) {
      say('cleaning up (run with --keep to leave the demo running objects in place)')
      await run(['delete', 'builder', '--dir', specs, '--purge', '--instance', instance, '--state-dir', state, '--timeout', '1s'], { quiet: true })
      rmSync(work, { recursive: true, force: true })
    }
  }
  if (failed) {
    process.stdout.write('\nthe demo did not behave as described; see above\n')
    process.exitCode = 1
  } else {
    process.stdout.write(`\n${bold('done:')} the agent reached exactly what its bottle allows, without ever holding the token.\n`)
  }
}

await main()
