/**
 * An https upstream behind a token: a real `git http-backend` behind Node's
 * https server, requiring Basic auth. The gate (bundled, as a node process)
 * hands the token to git only through its credential helper: the token is
 * never in any process's argv or environment while git talks to upstream,
 * never in a URL, and never in the gate's logs, status or state folder.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { slotFor } from '../../../../controller/plan/secret-slots.js'
import type { GitRemote } from '../../../../controller/spec/generated/spec-types.js'
import { runGitOk, gitRunner } from '../../../../sidecars/git-gate/run-git.js'
import { bundleGate, type GateBundle } from './support/gate-bundle.js'
import { writeGateConfig } from './support/gate-config.js'
import { startGateProcess, type GateProcess } from './support/gate-process.js'
import { hostGit, type HostGit } from './support/host-git.js'
import { processesHolding, startHttpsGitServer, type HttpsGitServer } from './support/https-git-server.js'

const TOKEN = `gate-token-${Date.now().toString(36)}-k3Lq9ZpW4vXt`
const tokenRef = { env: 'GIT_GATE_TEST_TOKEN' }

let root: string
let bundle: GateBundle
let server: HttpsGitServer
let gate: GateProcess
let git: HostGit
let remotes: GitRemote[]

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : []
  })
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bottle-git-gate-https-'))
  const projects = join(root, 'forge')
  mkdirSync(projects)
  const plain = gitRunner(root, { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.com', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.com' })
  await runGitOk(plain, ['init', '-q', '--bare', '-b', 'trunk', join(projects, 'app.git')])
  await runGitOk(plain, ['init', '-q', '-b', 'trunk', join(root, 'seed')])
  writeFileSync(join(root, 'seed', 'README.md'), '# forge app\n')
  const seed = gitRunner(join(root, 'seed'), plain.env)
  await runGitOk(seed, ['add', 'README.md'])
  await runGitOk(seed, ['commit', '-q', '-m', 'seed'])
  await runGitOk(seed, ['push', '-q', join(projects, 'app.git'), 'trunk'])

  server = await startHttpsGitServer({ projectRoot: projects, username: 'x-access-token', token: TOKEN })
  writeFileSync(join(root, 'ca.pem'), server.caPem)
  remotes = [{ name: 'forge', upstream: `https://localhost:${server.port}/app.git`, tokenRef }]
  writeGateConfig(join(root, 'config'), remotes, { homeDir: root, secrets: { [slotFor(tokenRef)]: TOKEN } })
  bundle = await bundleGate()
  gate = await startGateProcess({ bundle: bundle.gate, configDir: join(root, 'config'), stateDir: join(root, 'state'), env: { GIT_SSL_CAINFO: join(root, 'ca.pem') } })
  git = hostGit(root)
})

afterAll(async () => {
  await gate?.stop()
  await server?.close()
  bundle?.dispose()
  if (root) rmSync(root, { recursive: true, force: true })
})

describe('git gate with an https upstream and a token', () => {
  it('clones through the gate, following upstream default branch', async () => {
    const cloned = await git.run(root, ['clone', '-q', `${gate.url}/forge.git`, join(root, 'work')])
    expect(cloned.code, cloned.err).toBe(0)
    expect(readFileSync(join(root, 'work', 'README.md'), 'utf8')).toBe('# forge app\n')
    expect((await git.run(join(root, 'work'), ['branch', '--show-current'])).out.trim()).toBe('trunk')
    expect(server.authorized).toBeGreaterThan(0)
  })

  it('pushes through the gate to the upstream', async () => {
    const work = join(root, 'work')
    writeFileSync(join(work, 'change.txt'), 'from the agent\n')
    await git.run(work, ['add', 'change.txt'])
    await git.run(work, ['commit', '-q', '-m', 'agent change'])
    const pushed = await git.run(work, ['push', 'origin', 'trunk'])
    expect(pushed.code, pushed.err).toBe(0)
    const upstreamHead = await runGitOk(gitRunner(root, { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1' }), ['--git-dir', join(root, 'forge', 'app.git'), 'rev-parse', 'trunk'])
    expect(upstreamHead.toString().trim()).toBe((await git.run(work, ['rev-parse', 'HEAD'])).out.trim())
  })

  it('the leak detector sees a token in argv and in an environment (control)', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)', TOKEN], { env: { HOLDS: TOKEN } })
    try {
      await new Promise((r) => setTimeout(r, 200))
      expect(processesHolding(TOKEN)).toEqual([`${holder.pid}:cmdline`, `${holder.pid}:environ`])
    } finally {
      holder.kill()
      await once(holder, 'exit')
    }
  })

  it('keeps the token out of every argv and environment, the logs and the state folder', () => {
    expect(server.authorized).toBeGreaterThan(2)
    expect(server.leaks).toEqual([])
    expect(gate.lines.length).toBeGreaterThan(0)
    expect(gate.lines.join('\n')).not.toContain(TOKEN)
    for (const file of filesUnder(join(root, 'state'))) {
      if (statSync(file).size > 10 * 1024 * 1024) continue
      expect(readFileSync(file).includes(TOKEN), file).toBe(false)
    }
  })

  it('fails closed with upstream reason when the token is wrong', async () => {
    writeGateConfig(join(root, 'config'), remotes, { homeDir: root, secrets: { [slotFor(tokenRef)]: 'not-the-token-0000' } })
    const refusedBefore = server.refused
    const fetched = await git.run(join(root, 'work'), ['fetch', 'origin'])
    expect(fetched.code).not.toBe(0)
    expect(fetched.err).toContain('fatal: remote error: bottle-git-gate: upstream https://localhost:')
    expect(fetched.err).toMatch(/Authentication failed|401|could not read/i)
    expect(fetched.err).not.toContain('not-the-token-0000')
    expect(server.refused).toBeGreaterThan(refusedBefore)
    writeGateConfig(join(root, 'config'), remotes, { homeDir: root, secrets: { [slotFor(tokenRef)]: TOKEN } })
    const again = await git.run(join(root, 'work'), ['fetch', '-q', 'origin'])
    expect(again.code, again.err).toBe(0)
  })
})
