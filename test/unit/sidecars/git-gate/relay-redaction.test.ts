import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createScanner } from '../../../../sidecars/dlp/index.js'
import { startGateDaemon, type GateDaemon } from '../../../../sidecars/git-gate/gate-daemon.js'
import { runPreReceive } from '../../../../sidecars/git-gate/pre-receive-hook.js'
import { createRelayRedactor } from '../../../../sidecars/git-gate/relay-redaction.js'
import { configFolder, SSH_REMOTE, type ConfigFolder } from './support/config-folder.js'
import { cleanGitEnv, WorkRepo } from './support/work-repo.js'

// Generated per run: the gate's https token and a password an upstream might print.
const TOKEN = `forge_${randomBytes(16).toString('hex')}`
const PASSWORD = `pw${randomBytes(8).toString('hex')}`
const ZERO = '0'.repeat(40)

describe('createRelayRedactor', () => {
  const redact = createRelayRedactor({
    secrets: [TOKEN],
    remotes: [{ identityPath: '/etc/bottle/git-gate/keys/app', knownHostsPath: '/etc/bottle/git-gate/known_hosts' }],
    configDir: '/etc/bottle/git-gate/',
  })
  const cases = [
    { name: 'a token as is', text: `fatal: bad token ${TOKEN}`, want: 'fatal: bad token [redacted]' },
    { name: 'a token percent-encoded in a URL', text: `see ?t=${encodeURIComponent(`${TOKEN}/x`)}`, want: 'see ?t=[redacted]%2Fx' },
    { name: 'a token inside Basic auth (base64)', text: `sent Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`, not: Buffer.from(`x-access-token:${TOKEN}`).toString('base64').slice(20, -4) },
    { name: 'user:password in any URL', text: `remote: clone ssh://deploy:${PASSWORD}@host/repo or ftp://a:${PASSWORD}@x`, want: 'remote: clone ssh://[redacted]@host/repo or ftp://[redacted]@x' },
    { name: 'a user alone in an https URL (a token there)', text: `fatal: unable to access 'https://ghp_abcdef123456@github.com/me/app.git/'`, want: "fatal: unable to access 'https://[redacted]@github.com/me/app.git/'" },
    { name: 'the identity file', text: 'Load key "/etc/bottle/git-gate/keys/app": Permission denied', want: 'Load key "[identity file]": Permission denied' },
    { name: 'the known_hosts file', text: '-o UserKnownHostsFile=/etc/bottle/git-gate/known_hosts', want: '-o UserKnownHostsFile=[known hosts]' },
    { name: 'anything else in the config folder', text: 'open /etc/bottle/git-gate/secrets.json', want: 'open [gate config]/secrets.json' },
    { name: 'the upstream URL and its ssh user stay', text: 'git@git.example.com: Permission denied (publickey). ssh://git@git.example.com:2222/me/app.git', want: 'git@git.example.com: Permission denied (publickey). ssh://git@git.example.com:2222/me/app.git' },
  ]
  it.each(cases)('$name', ({ text, want, not }) => {
    const out = redact(text)
    if (want !== undefined) expect(out).toBe(want)
    if (not !== undefined) expect(out).not.toContain(not)
    expect(out).not.toContain(TOKEN)
    expect(out).not.toContain(PASSWORD)
  })
})

/**
 * An `ssh` first in PATH that fails the way a real one does, and, like a
 * real one under -v, names the files it was given; it also prints what an
 * upstream could say: a URL with a password and the token in base64.
 */
async function fakeSsh(dir: string): Promise<string> {
  const bin = join(dir, 'bin')
  await import('node:fs/promises').then((fs) => fs.mkdir(bin, { recursive: true }))
  const script = [
    '#!/bin/sh',
    'echo "debug1: Reading configuration data $2; args: $*" >&2',
    'echo "Load key \\"$4\\": Permission denied" >&2',
    `echo "remote: docs at https://deploy:${PASSWORD}@forge.example.com/help" >&2`,
    `echo "remote: rejected Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}" >&2`,
    'exit 255',
    '',
  ].join('\n')
  await writeFile(join(bin, 'ssh'), script)
  await chmod(join(bin, 'ssh'), 0o755)
  return bin
}

function expectClean(text: string, folder: ConfigFolder): void {
  expect(text).not.toContain(folder.dir)
  expect(text).not.toContain(PASSWORD)
  expect(text).not.toContain(TOKEN)
  expect(text).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64').slice(20, -4))
}

describe('what the gate relays to the agent', () => {
  let folder: ConfigFolder
  let scratch: string
  let bin: string

  beforeEach(async () => {
    folder = await configFolder({ remotes: [SSH_REMOTE], secrets: { 'env.FORGE_TOKEN': TOKEN } })
    scratch = await mkdtemp(join(tmpdir(), 'bottle-git-gate-relay-'))
    bin = await fakeSsh(scratch)
  })
  afterEach(async () => {
    await Promise.all([folder.dispose(), rm(scratch, { recursive: true, force: true })])
  })

  it('pre-receive: upstream and ssh lines reach the agent without secrets, URL credentials or key paths', async () => {
    const repo = await WorkRepo.create()
    try {
      await repo.commit({ 'README.md': '# app\n' }, 'initial')
      await repo.run('checkout', '-q', '-b', 'incoming')
      const tip = await repo.commit({ 'ok.txt': 'fine\n' }, 'incoming change')
      await repo.run('checkout', '-q', '--detach', 'main')
      await repo.run('branch', '-q', '-D', 'incoming')
      const lines: string[] = []
      const reportPath = join(scratch, 'report.json')
      const code = await runPreReceive({
        env: {
          ...cleanGitEnv(join(scratch, 'home')),
          PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          GIT_TERMINAL_PROMPT: '0',
          BOTTLE_GIT_GATE_CONFIG_DIR: folder.dir,
          BOTTLE_GIT_GATE_REMOTE: 'app',
          BOTTLE_GIT_GATE_PUSH_REPORT: reportPath,
        },
        cwd: repo.dir,
        stdin: `${ZERO} ${tip} refs/heads/feature\n`,
        writeLine: (line) => lines.push(line),
        createScanner,
      })
      expect(code).toBe(1)
      const text = lines.join('\n')
      expectClean(text, folder)
      expect(text).toContain('Load key "[identity file]": Permission denied')
      expect(text).toContain('https://[redacted]@forge.example.com/help')
      expect(text).toContain('UserKnownHostsFile=[known hosts]')
      // The agent's gitconfig names the upstream, so the gate still says which one failed.
      expect(text).toContain('cannot deliver it to upstream ssh://git@git.example.com:2222/me/app.git')
      expect(await readFile(reportPath, 'utf8')).not.toContain(TOKEN)
    } finally {
      await repo.dispose()
    }
  })

  it('info/refs: the error packet for an unreachable upstream carries no key path', async () => {
    const lines: string[] = []
    let gate: GateDaemon | undefined
    try {
      gate = await startGateDaemon({
        configDir: folder.dir,
        stateDir: join(scratch, 'state'),
        host: '127.0.0.1',
        port: 0,
        logLevel: 'info',
        log: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
        entryUrl: 'file:///nonexistent/git-gate.mjs',
        nodePath: process.execPath,
        inheritedEnv: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
        warmUp: false,
      })
      const port = gate.port
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/app.git/info/refs?service=git-upload-pack' }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        })
        req.on('error', reject)
        req.end()
      })
      expect(body).toContain('ERR bottle-git-gate: upstream ssh://git@git.example.com:2222/me/app.git is unreachable')
      expect(body).toContain('[identity file]')
      expectClean(body, folder)
    } finally {
      await gate?.stop()
    }
  })
})
