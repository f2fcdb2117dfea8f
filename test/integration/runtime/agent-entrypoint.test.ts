/**
 * The agent image's entrypoint, run the way the driver runs it (all
 * capabilities dropped but the few it needs, no-new-privileges): it must
 * trust the Agent's CA system-wide, hand the agent its git config and
 * workspace, drop to the agent user, and refuse clearly when it cannot.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import forge from 'node-forge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PartSpec } from '../../../controller/runtime/driver.js'
import { AGENT_IMAGE_LAYOUT } from '../../../controller/plan/agent-image-layout.js'
import { DockerDriver } from '../../../controller/runtime/docker/docker-driver.js'
import { buildTestImages, removeInstance, testLogger, uniqueInstance, type TestImages } from './docker-fixtures.js'

const instance = uniqueInstance('ent')
let images: TestImages
let driver: DockerDriver
let work: string

interface Issued {
  certPem: string
  keyPem: string
  cert: forge.pki.Certificate
  key: forge.pki.rsa.PrivateKey
}

function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  // Node's native generator: forge's pure-JS one takes seconds per key.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem }
}

function issue(commonName: string, issuer?: Issued): Issued {
  const keys = rsaKeys()
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000)
  cert.setSubject([{ name: 'commonName', value: commonName }])
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : [{ name: 'commonName', value: commonName }])
  cert.setExtensions(
    issuer
      ? [{ name: 'basicConstraints', cA: false }, { name: 'subjectAltName', altNames: [{ type: 2, value: commonName }] }]
      : [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  )
  cert.sign(issuer ? issuer.key : keys.privateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.pem, cert, key: keys.privateKey }
}

/** A config folder as the controller writes it: world-readable files in a folder. */
function configFolder(name: string, files: Record<string, string>): string {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755)
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(join(dir, file), content)
    chmodSync(join(dir, file), 0o644)
  }
  return dir
}

function agentSpec(configDir: string, hash: string): PartSpec {
  return {
    image: images.agent,
    env: {},
    init: true,
    mounts: [
      { kind: 'workspace', target: '/home/agent/workspace' },
      { kind: 'bind', source: configDir, target: '/etc/bottle/agent', readOnly: true },
    ],
    hash,
  }
}

/** The entrypoint's setup (update-ca-certificates takes seconds) is done once its marker exists. */
async function waitUntilReady(agent: string): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const probe = await driver.exec(agent, 'agent', ['test', '-f', AGENT_IMAGE_LAYOUT.readyFile])
    if (probe.exitCode === 0) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`agent ${agent} never became ready`)
}

/** Stops and starts the box, as a host restart would, and waits for its entrypoint's setup. */
async function restartUntilReady(agent: string): Promise<void> {
  await driver.stopPart(agent, 'agent')
  await driver.startPart(agent, 'agent')
  await waitUntilReady(agent)
}

async function startAgent(agent: string, configDir: string, hash = 'v1'): Promise<void> {
  await driver.ensureInfrastructure(agent)
  await driver.createPart(agent, 'agent', agentSpec(configDir, hash))
}

async function waitForState(agent: string, state: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const observed = (await driver.observe()).find((candidate) => candidate.agent === agent)
    if (observed?.parts.agent?.state === state) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`agent ${agent} never reached ${state}`)
}

let agentCa: Issued
let strangerCa: Issued

beforeAll(async () => {
  images = await buildTestImages()
  driver = new DockerDriver({ instance, logger: testLogger(), stopTimeoutSeconds: 3 })
  work = mkdtempSync(join(tmpdir(), 'bottle-entrypoint-'))
  chmodSync(work, 0o755)
  agentCa = issue('bottle agent CA')
  strangerCa = issue('someone else CA')
  const trusted = issue('localhost', agentCa)
  const untrusted = issue('localhost', strangerCa)
  await startAgent(
    'dev',
    configFolder('dev', {
      'ca.crt': agentCa.certPem,
      gitconfig: '[user]\n\tname = Bottle Agent\n\temail = agent@bottle.invalid\n',
      // Test-only: server certificates for a TLS listener inside the box.
      'trusted.crt': trusted.certPem,
      'trusted.key': trusted.keyPem,
      'untrusted.crt': untrusted.certPem,
      'untrusted.key': untrusted.keyPem,
    }),
  )
  await waitUntilReady('dev')
})

afterAll(async () => {
  await removeInstance(instance)
  await images?.cleanup()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the agent image entrypoint', () => {
  const servers = [
    { name: 'a certificate the Agent CA signed', pair: 'trusted', want: { exitCode: 0, stdout: 'tls ok' } },
    // curl's "SSL certificate problem": the CA is trusted, not TLS in general.
    { name: 'a certificate another CA signed', pair: 'untrusted', want: { exitCode: 60, stdout: '' } },
  ]
  it.each(servers)('makes real curl accept $name only as the system trust store says', async ({ pair, want }) => {
    const script = `
      const fs = require('fs')
      const server = require('https').createServer({
        cert: fs.readFileSync('/etc/bottle/agent/${pair}.crt'),
        key: fs.readFileSync('/etc/bottle/agent/${pair}.key'),
      }, (request, response) => response.end('tls ok'))
      server.listen(8443, '127.0.0.1', () => {
        require('child_process').execFile('curl', ['-sS', '--noproxy', '*', 'https://localhost:8443/'], (error, stdout) => {
          console.log(JSON.stringify({ exitCode: error ? error.code : 0, stdout }))
          process.exit(0)
        })
      })`
    const result = await driver.exec('dev', 'agent', ['node', '-'], { user: 'agent', stdin: script })
    expect(JSON.parse(result.stdout)).toEqual(want)
  })

  it('gives the agent its git config, owned by the agent', async () => {
    const name = await driver.exec('dev', 'agent', ['git', 'config', '--global', 'user.name'], { user: 'agent' })
    expect(name).toMatchObject({ exitCode: 0, stdout: 'Bottle Agent\n' })
    const owner = await driver.exec('dev', 'agent', ['stat', '-c', '%U %a', '/home/agent/.gitconfig'])
    expect(owner.stdout).toBe('agent 644\n')
  })

  it('takes back a workspace that someone else came to own, on the next start', async () => {
    const chown = await driver.exec('dev', 'agent', ['chown', '0:0', '/home/agent/workspace'], { user: 'root' })
    expect(chown.exitCode).toBe(0)
    await driver.createPart('dev', 'agent', agentSpec(join(work, 'dev'), 'v2'))
    await waitUntilReady('dev')
    const owner = await driver.exec('dev', 'agent', ['stat', '-c', '%u', '/home/agent/workspace'])
    expect(owner.stdout).toBe('1000\n')
  })

  it('starts without a CA or a git config', async () => {
    await startAgent('bare', configFolder('bare', {}))
    await waitUntilReady('bare')
    const result = await driver.exec('bare', 'agent', ['git', 'config', '--global', 'user.name'], { user: 'agent' })
    expect(result.exitCode).toBe(1)
    expect((await driver.observe()).find((agent) => agent.agent === 'bare')?.parts.agent?.state).toBe('running')
  })

  /** curl's exit code against a TLS listener in the box serving `pair`, and what OpenSSL's folder lookup says of its certificate. */
  async function trustOf(agent: string, pair: 'trusted' | 'untrusted'): Promise<{ curl: number; capath: boolean }> {
    const script = `
      const fs = require('fs')
      require('https').createServer({ cert: fs.readFileSync('/etc/bottle/agent/${pair}.crt'), key: fs.readFileSync('/etc/bottle/agent/${pair}.key') }, (q, r) => r.end('tls ok'))
        .listen(8443, '127.0.0.1', () => require('child_process').execFile('curl', ['-sS', '--noproxy', '*', 'https://localhost:8443/'], (error) => {
          console.log(error ? error.code : 0)
          process.exit(0)
        }))`
    const curl = await driver.exec(agent, 'agent', ['node', '-'], { user: 'agent', stdin: script })
    const verify = await driver.exec(agent, 'agent', ['openssl', 'verify', '-CApath', '/etc/ssl/certs', `/etc/bottle/agent/${pair}.crt`], { user: 'agent' })
    return { curl: Number(curl.stdout.trim()), capath: verify.exitCode === 0 }
  }

  it('trusts the Agent CA through the system bundle and through the hashed folder', async () => {
    expect(await trustOf('dev', 'trusted')).toEqual({ curl: 0, capath: true })
    expect(await trustOf('dev', 'untrusted')).toEqual({ curl: 60, capath: false })
  })

  it('trusts only the new CA when restarted with another one', async () => {
    writeFileSync(join(work, 'dev', 'ca.crt'), strangerCa.certPem)
    await restartUntilReady('dev')
    expect(await trustOf('dev', 'trusted')).toEqual({ curl: 60, capath: false })
    expect(await trustOf('dev', 'untrusted')).toEqual({ curl: 0, capath: true })
  })

  it('stops trusting the old CA when restarted without one', async () => {
    rmSync(join(work, 'dev', 'ca.crt'))
    await restartUntilReady('dev')
    expect(await trustOf('dev', 'trusted')).toEqual({ curl: 60, capath: false })
    expect(await trustOf('dev', 'untrusted')).toEqual({ curl: 60, capath: false })
  })

  it('refuses to start, saying why, when it cannot read the CA', async () => {
    const dir = configFolder('locked', { 'ca.crt': agentCa.certPem })
    // Another user's private file: root in the box has no DAC_OVERRIDE to read it.
    chownSync(join(dir, 'ca.crt'), 4321, 4321)
    chmodSync(join(dir, 'ca.crt'), 0o600)
    await startAgent('locked', dir)
    await waitForState('locked', 'stopped')
    const observed = (await driver.observe()).find((agent) => agent.agent === 'locked')
    expect(observed?.parts.agent?.exitCode).toBe(1)
    const lines: string[] = []
    for await (const line of driver.logs('locked', 'agent')) lines.push(line)
    expect(lines).toContain('bottle-agent-init: cannot read /etc/bottle/agent/ca.crt (it must be world-readable)')
  })
})
