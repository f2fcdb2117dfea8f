/**
 * Hostile and broken input against the real gate (bundled, run as a node
 * process on the host) in front of a real ssh upstream (sshd in a container):
 * an oversized push, a malformed pack, ref names full of shell
 * metacharacters, unknown repositories, traversal, garbage bodies. Each is
 * refused with a clear `bottle-git-gate:` reason, upstream is untouched, and
 * the gate keeps serving: every case ends with a clone that still works.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../../controller/runtime/docker/image-store.js'
import { FLUSH, pktLine } from '../../../../sidecars/git-gate/pkt-line.js'
import { addressOf, createNetwork, removeRun, uniqueRun, waitFor } from './support/containers.js'
import { bundleGate, type GateBundle } from './support/gate-bundle.js'
import { generateIdentity, writeGateConfig } from './support/gate-config.js'
import { startGateProcess, type GateProcess } from './support/gate-process.js'
import { hostGit, type HostGit } from './support/host-git.js'
import { startSshUpstream, UPSTREAM_PORT, UPSTREAM_REPO, type SshUpstream } from './support/ssh-upstream.js'

const run = uniqueRun('gg-bad')
const network = `${run}-net`
let root: string
let bundle: GateBundle
let upstream: SshUpstream
let gate: GateProcess
let git: HostGit
let cloneCount = 0

async function httpRequest(method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gate.port, method, path, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** The gate still serves a full clone. */
async function cloneStillWorks(): Promise<void> {
  const dir = join(root, `still-${++cloneCount}`)
  const cloned = await git.run(root, ['clone', '-q', `${gate.url}/app.git`, dir])
  expect(cloned.err).toBe('')
  expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('# app')
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bottle-git-gate-bad-'))
  const base = await new DockerImageStore({ logger: pino({ level: 'silent' }) }).ensureBase()
  bundle = await bundleGate()
  await createNetwork(network, run)
  const identity = generateIdentity(join(root, 'user-ssh'))
  upstream = await startSshUpstream({ run, name: `${run}-upstream`, image: base, network, alias: 'upstream', publicKey: identity.publicKey })
  const ip = await addressOf(upstream.container, network)
  writeGateConfig(join(root, 'config'), [{ name: 'app', upstream: `ssh://git@${ip}:${UPSTREAM_PORT}${UPSTREAM_REPO}`, identityFile: identity.privateKey, knownHostKey: upstream.hostKey }], {
    homeDir: root,
    patch: (config) => {
      config.limits = { maxRequestBytes: 8 * 1024 * 1024 }
    },
  })
  gate = await startGateProcess({ bundle: bundle.gate, configDir: join(root, 'config'), stateDir: join(root, 'state') })
  git = hostGit(root)
})

afterAll(async () => {
  await gate?.stop()
  await removeRun(run)
  bundle?.dispose()
  if (root) rmSync(root, { recursive: true, force: true })
})

describe('the gate under bad input', () => {
  it('serves a clone through the gate (control)', async () => {
    await cloneStillWorks()
  })

  it('refuses a 100 MB push over the size cap in git protocol terms, and upstream is unchanged', async () => {
    const dir = join(root, 'big')
    await git.run(root, ['clone', '-q', `${gate.url}/app.git`, dir])
    writeFileSync(join(dir, 'noise.bin'), randomBytes(100 * 1024 * 1024))
    await git.run(dir, ['add', 'noise.bin'])
    await git.run(dir, ['commit', '-q', '-m', 'noise'])
    const before = await upstream.revParse('main')
    const pushed = await git.run(dir, ['push', 'origin', 'main'])
    expect(pushed.code).not.toBe(0)
    expect(pushed.err).toContain("bottle-git-gate: refused push: the push is larger than the gate's 8 MiB limit")
    expect(pushed.err).toContain('[remote rejected] main -> main (pack exceeds the gate size limit)')
    expect(await upstream.revParse('main')).toBe(before)
    expect(gate.events('push.too-large')).toHaveLength(1)
    await cloneStillWorks()
  })

  const paths: Array<{ name: string; method: string; path: string; status: number; reason: RegExp }> = [
    { name: 'an unconfigured repository', method: 'GET', path: '/other.git/info/refs?service=git-upload-pack', status: 404, reason: /no repository other\.git on this gate \(configured: app\.git\)/ },
    { name: 'traversal with ..', method: 'GET', path: '/../app.git/info/refs?service=git-upload-pack', status: 400, reason: /not a repository path/ },
    { name: 'encoded traversal', method: 'GET', path: '/%2e%2e%2fapp.git/info/refs?service=git-upload-pack', status: 400, reason: /not a repository path/ },
    { name: 'a nested path', method: 'GET', path: '/x/app.git/info/refs?service=git-upload-pack', status: 404, reason: /not a git repository path/ },
    { name: 'the dumb protocol', method: 'GET', path: '/app.git/info/refs', status: 403, reason: /dumb HTTP protocol is not served/ },
    { name: 'an unknown service', method: 'GET', path: '/app.git/info/refs?service=git-shell', status: 400, reason: /unknown service/ },
    { name: 'a GET of the rpc endpoint', method: 'GET', path: '/app.git/git-receive-pack', status: 405, reason: /GET is not allowed/ },
  ]
  it.each(paths)('refuses $name with a one-line reason', async ({ method, path, status, reason }) => {
    const res = await httpRequest(method, path)
    expect(res.status).toBe(status)
    expect(res.headers['x-bottle-git-gate']).toBe('refused')
    const body = res.body.toString('utf8')
    expect(body).toMatch(/^bottle-git-gate: [^\n]+\n$/)
    expect(body).toMatch(reason)
  })

  it('git itself shows the reason for an unconfigured repository', async () => {
    const cloned = await git.run(root, ['clone', '-q', `${gate.url}/nope.git`, join(root, 'nope')])
    expect(cloned.code).not.toBe(0)
    expect(cloned.err).toContain('remote: bottle-git-gate: no repository nope.git on this gate')
  })

  const bodies: Array<{ name: string; service: string; headers?: Record<string, string>; body: Buffer; status: number; reason: RegExp }> = [
    { name: 'garbage to upload-pack', service: 'git-upload-pack', body: Buffer.from('this is not pkt-line'), status: 400, reason: /git upload-pack refused the request/ },
    { name: 'bad gzip', service: 'git-upload-pack', headers: { 'content-encoding': 'gzip' }, body: Buffer.from('not gzip at all'), status: 400, reason: /not valid gzip/ },
    { name: 'an unknown content encoding', service: 'git-upload-pack', headers: { 'content-encoding': 'br' }, body: Buffer.from('x'), status: 415, reason: /unsupported Content-Encoding/ },
  ]
  it.each(bodies)('refuses $name', async ({ service, headers, body, status, reason }) => {
    const res = await httpRequest('POST', `/app.git/${service}`, { headers: { 'content-type': `application/x-${service}-request`, ...headers }, body })
    expect(res.status).toBe(status)
    expect(res.body.toString('utf8')).toMatch(reason)
  })

  it('stops a gzip body that inflates past the cap (a negotiation of endless haves)', async () => {
    const main = await upstream.revParse('main')
    const have = pktLine(`have ${'a'.repeat(40)}\n`)
    const haves = Buffer.concat(Array.from({ length: (20 * 1024 * 1024) / have.length }, () => have))
    const body = gzipSync(Buffer.concat([pktLine(`want ${main} multi_ack_detailed side-band-64k\n`), FLUSH, haves]))
    expect(body.length).toBeLessThan(1024 * 1024)
    const res = await httpRequest('POST', '/app.git/git-upload-pack', { headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' }, body })
    expect(res.status).toBe(413)
    expect(res.body.toString('utf8')).toMatch(/^bottle-git-gate: the request is larger than the gate's 8 MiB limit\n$/)
    await cloneStillWorks()
  })

  it('refuses a wrong content type', async () => {
    const res = await httpRequest('POST', '/app.git/git-upload-pack', { headers: { 'content-type': 'text/plain' }, body: Buffer.from('0000') })
    expect(res.status).toBe(415)
  })

  it('a malformed pack is refused by receive-pack, nothing reaches upstream', async () => {
    const main = await upstream.revParse('main')
    const command = pktLine(`${main} ${'1'.repeat(40)} refs/heads/main\0report-status side-band-64k agent=test\n`)
    const body = Buffer.concat([command, FLUSH, Buffer.from('PACK'), Buffer.from([0, 0, 0, 2, 0, 0, 0, 9]), randomBytes(200)])
    const res = await httpRequest('POST', '/app.git/git-receive-pack', { headers: { 'content-type': 'application/x-git-receive-pack-request' }, body })
    expect(res.status).toBe(200)
    const text = res.body.toString('latin1')
    expect(text).toMatch(/unpack [^\n]*(error|abnormal|fatal|failed)/i)
    expect(text).toContain('ng refs/heads/main')
    expect(await upstream.revParse('main')).toBe(main)
    await cloneStillWorks()
  })

  it('a client that vanishes mid-push does not wedge the remote for the next push', async () => {
    const main = await upstream.revParse('main')
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gate.port, method: 'POST', path: '/app.git/git-receive-pack', headers: { 'content-type': 'application/x-git-receive-pack-request', 'transfer-encoding': 'chunked' } })
      req.on('error', () => resolve())
      req.write(Buffer.concat([pktLine(`${main} ${'2'.repeat(40)} refs/heads/main\0report-status side-band-64k\n`), FLUSH, Buffer.from('PACK'), Buffer.from([0, 0, 0, 2, 0, 0, 1, 0])]))
      setTimeout(() => {
        req.destroy()
        resolve()
      }, 300)
    })
    const dir = join(root, 'after-abort')
    await git.run(root, ['clone', '-q', `${gate.url}/app.git`, dir])
    writeFileSync(join(dir, 'after.txt'), 'after\n')
    await git.run(dir, ['add', 'after.txt'])
    await git.run(dir, ['commit', '-q', '-m', 'after an aborted push'])
    const pushed = await git.run(dir, ['push', 'origin', 'main'], { timeoutMs: 60_000 })
    expect(pushed.code, pushed.err).toBe(0)
    expect(await upstream.revParse('main')).toBe((await git.run(dir, ['rev-parse', 'HEAD'])).out.trim())
  })

  it('ref names with shell metacharacters travel verbatim and never reach a shell', async () => {
    const dir = join(root, 'meta')
    await git.run(root, ['clone', '-q', `${gate.url}/app.git`, dir])
    writeFileSync(join(dir, 'ok.txt'), 'fine\n')
    await git.run(dir, ['add', 'ok.txt'])
    await git.run(dir, ['commit', '-q', '-m', 'ok'])
    const marker = join(root, 'pwned')
    const refs = [
      `refs/heads/x;touch\${IFS}${marker}`,
      `refs/heads/$(touch\${IFS}${marker})`,
      `refs/heads/\`touch\${IFS}${marker}\``,
      'refs/heads/we$ird&name|(x)>y<z',
      "refs/heads/quote'and\"double",
    ]
    for (const ref of refs) {
      const pushed = await git.run(dir, ['push', 'origin', `HEAD:${ref}`])
      expect(pushed.code, pushed.err).toBe(0)
    }
    const listed = await upstream.git(`git --git-dir=${UPSTREAM_REPO} for-each-ref --format='%(refname)' refs/heads`)
    const upstreamRefs = listed.stdout.split('\n')
    for (const ref of refs) expect(upstreamRefs).toContain(ref)
    expect(readdirSync(root)).not.toContain('pwned')
    await cloneStillWorks()
  })

  it('gzip request bodies from git are decoded (a fetch of many new branches)', async () => {
    const dir = join(root, 'gz')
    await git.run(root, ['clone', '-q', `${gate.url}/app.git`, dir])
    // Forty new branches upstream, each on its own commit: forty want lines, past the 1 KiB at which git gzips.
    const advanced = await upstream.git(
      `set -e; rm -rf /tmp/other; git clone -q ${UPSTREAM_REPO} /tmp/other; cd /tmp/other; for i in $(seq 40); do git commit -q --allow-empty -m b$i; git branch b$i; done; git push -q origin --all`,
    )
    expect(advanced.exitCode, advanced.stderr).toBe(0)
    const served = gate.events('request.served').length
    const fetched = await git.run(dir, ['-c', 'protocol.version=0', 'fetch', '-q', 'origin'])
    expect(fetched.code).toBe(0)
    const rpc = gate.events('request.served').slice(served).filter((e) => e.phase === 'rpc')
    expect(rpc.some((e) => e.encoding === 'gzip')).toBe(true)
    expect((await git.run(dir, ['rev-parse', 'origin/b40'])).out.trim()).toBe(await upstream.revParse('b40'))
    await cloneStillWorks()
  })
})

describe('the gate takes config changes without a restart', () => {
  it('serves a remote added to the folder after SIGHUP, and refuses it again once removed', async () => {
    const ip = await addressOf(upstream.container, network)
    const configDir = join(root, 'config')
    const keyLine = readFileSync(join(configDir, 'keys', 'app'), 'utf8')
    const app = { name: 'app', upstream: `ssh://git@${ip}:${UPSTREAM_PORT}${UPSTREAM_REPO}`, identityFile: join(root, 'user-ssh', 'id_ed25519'), knownHostKey: upstream.hostKey }
    const patch = (config: { limits?: unknown }) => {
      config.limits = { maxRequestBytes: 8 * 1024 * 1024 }
    }
    writeGateConfig(configDir, [app, { ...app, name: 'second' }], { homeDir: root, patch })
    expect(readFileSync(join(configDir, 'keys', 'app'), 'utf8')).toBe(keyLine)
    gate.signal('SIGHUP')
    await waitFor('the new remote', async () => (await httpRequest('GET', '/second.git/info/refs?service=git-upload-pack')).status === 200)
    const cloned = await git.run(root, ['clone', '-q', `${gate.url}/second.git`, join(root, 'second')])
    expect(cloned.code, cloned.err).toBe(0)
    expect(gate.events('config.applied').at(-1)).toMatchObject({ reason: 'signal', remotes: ['app', 'second'] })

    // A change of the folder alone is enough.
    writeGateConfig(configDir, [app], { homeDir: root, patch })
    await waitFor('the removal', async () => (await httpRequest('GET', '/second.git/info/refs?service=git-upload-pack')).status === 404)
    expect(gate.events('config.applied').at(-1)).toMatchObject({ reason: 'change', remotes: ['app'] })
    await cloneStillWorks()
  })
})

describe('the gate state folder', () => {
  it('keeps status.json with the last refresh and push per remote, without secrets', async () => {
    const status = JSON.parse(readFileSync(join(root, 'state', 'status.json'), 'utf8')) as {
      remotes: Record<string, { lastRefresh?: { result: string; message: string }; lastPush?: { result: string } }>
    }
    expect(status.remotes.app?.lastRefresh?.result).toBe('ok')
    expect(status.remotes.app?.lastPush?.result).toMatch(/forwarded|too-large|refused/)
    const key = readFileSync(join(root, 'config', 'keys', 'app'), 'utf8').split('\n')[1] ?? ''
    expect(key.length).toBeGreaterThan(20)
    expect(readFileSync(join(root, 'state', 'status.json'), 'utf8')).not.toContain(key)
    expect(gate.lines.join('\n')).not.toContain(key)
  })
})
