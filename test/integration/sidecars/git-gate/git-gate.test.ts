/**
 * The git gate end to end, everything real:
 *   - upstream: sshd in a container from the offline base image, with its
 *     own host key (pinned by the gate, read from the container) and a key
 *     pair made by ssh-keygen;
 *   - the gate: the real sidecars image (bundle init + git-gate), running as
 *     an unprivileged uid with the config folder mounted read-only, written
 *     through renderGitGateConfig as the controller writes it;
 *   - the agent: a container on the same network whose ~/.gitconfig holds
 *     only renderGitGateInsteadOf's lines; it holds no key and no token and
 *     uses the upstream's own URL, which git rewrites to the gate.
 */
import { generateKeyPairSync } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../../controller/runtime/docker/image-store.js'
import type { GitRemote } from '../../../../controller/spec/generated/spec-types.js'
import { runGit } from '../../../../sidecars/git-gate/run-git.js'
import { createNetwork, docker, exec, logsOf, removeRun, startContainer, uniqueRun, waitFor } from './support/containers.js'
import { bundleGate, type GateBundle } from './support/gate-bundle.js'
import { generateIdentity, writeGateConfig } from './support/gate-config.js'
import { startSshUpstream, UPSTREAM_PORT, UPSTREAM_REPO, type SshUpstream } from './support/ssh-upstream.js'

const run = uniqueRun('gg')
const network = `${run}-net`
const GATE_UID = '65534:65534'
const UPSTREAM_URL = `ssh://git@upstream:${UPSTREAM_PORT}${UPSTREAM_REPO}`
// Built at run time so no credential-shaped literal sits in this file.
const AWS_KEY = ['AKIA', 'Q3EXWPLM7VNRT2YH'].join('')
const PRIVATE_KEY = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

let root: string
let bundle: GateBundle
let sidecarsImage: string
let imageExisted = false
let upstream: SshUpstream
let gateContainer: string
let client: string
let identityKeyLine: string

const AGENT_ENV = { HOME: '/root', GIT_AUTHOR_NAME: 'Agent', GIT_AUTHOR_EMAIL: 'agent@example.com', GIT_COMMITTER_NAME: 'Agent', GIT_COMMITTER_EMAIL: 'agent@example.com' }

/** git on the host against the gate's state folder (bind-mounted from the host); returns the exit code. */
async function hostGitDir(gitDir: string, args: string[]): Promise<number | null> {
  const result = await runGit(['--git-dir', gitDir, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: root } })
  return result.code
}

/** A shell step in the agent container (the test's own scripting, not the gate's). */
function agent(script: string) {
  return exec(client, ['sh', '-c', script], { env: AGENT_ENV })
}

async function gateLogs(): Promise<Array<Record<string, unknown>>> {
  return (await logsOf(gateContainer)).split('\n').flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>
      return parsed.component === 'git-gate' ? [parsed] : []
    } catch {
      return []
    }
  })
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bottle-git-gate-e2e-'))
  const logger = pino({ level: 'silent' })
  const base = await new DockerImageStore({ logger }).ensureBase()
  bundle = await bundleGate(['init', 'git-gate'])
  const store = new DockerImageStore({ logger, bundleDir: bundle.dir })
  sidecarsImage = await store.resolve({ kind: 'sidecars' })
  imageExisted = await docker
    .getImage(sidecarsImage)
    .inspect()
    .then(() => true)
    .catch(() => false)
  await store.ensure({ kind: 'sidecars' })

  await createNetwork(network, run)
  const identity = generateIdentity(join(root, 'user-ssh'))
  identityKeyLine = readFileSync(identity.privateKey, 'utf8').split('\n')[1] ?? ''
  upstream = await startSshUpstream({ run, name: `${run}-upstream`, image: base, network, alias: 'upstream', publicKey: identity.publicKey })
  await docker.getNetwork(network).disconnect({ Container: upstream.container })
  await docker.getNetwork(network).connect({ Container: upstream.container, EndpointConfig: { Aliases: ['upstream', 'upstream-alias'] } })

  const wrongHostKey = generateIdentity(join(root, 'wrong'), 'host').publicKey
  const remotes: GitRemote[] = [
    { name: 'app', upstream: UPSTREAM_URL, identityFile: '~/user-ssh/id_ed25519', knownHostKey: `${upstream.hostKey} root@upstream` },
    // The same repository, allowed to be served from the last mirror when upstream is down.
    { name: 'cached', upstream: UPSTREAM_URL, identityFile: '~/user-ssh/id_ed25519', knownHostKey: upstream.hostKey, allowStale: true },
    // The same server under another name, pinned to a key it does not have.
    { name: 'mispinned', upstream: `ssh://git@upstream-alias:${UPSTREAM_PORT}${UPSTREAM_REPO}`, identityFile: '~/user-ssh/id_ed25519', knownHostKey: wrongHostKey },
  ]
  const configDir = join(root, 'config')
  const stateDir = join(root, 'state')
  const { agentGitconfig } = writeGateConfig(configDir, remotes, { homeDir: root, owner: GATE_UID })
  mkdirSync(stateDir)
  execFileSync('chown', [GATE_UID, stateDir])
  chmodSync(root, 0o755)

  gateContainer = await startContainer(run, {
    name: `${run}-sidecars`,
    image: sidecarsImage,
    network,
    aliases: ['git-gate'],
    user: GATE_UID,
    env: { BOTTLE_DAEMONS: 'git-gate', BOTTLE_STOP_GRACE_MS: '2000' },
    binds: [`${configDir}:/etc/bottle/git-gate:ro`, `${stateDir}:/var/lib/bottle/git-gate`],
  })
  client = await startContainer(run, { name: `${run}-agent`, image: base, network, aliases: ['agent'], cmd: ['sleep', 'infinity'] })
  const written = await exec(client, ['sh', '-c', 'cat > /root/.gitconfig'], { stdin: `[init]\n\tdefaultBranch = main\n${agentGitconfig}` })
  expect(written.exitCode).toBe(0)
  await waitFor('the gate', async () => (await gateLogs()).some((e) => e.event === 'gate.listening'))
})

afterAll(async () => {
  await removeRun(run)
  if (sidecarsImage && !imageExisted) await docker.getImage(sidecarsImage).remove().catch(() => undefined)
  bundle?.dispose()
  if (root) rmSync(root, { recursive: true, force: true })
})

describe('git gate in the sidecar bundle, in front of a real ssh upstream', () => {
  it('clones through the gate with the upstream URL (rewritten by insteadOf)', async () => {
    const cloned = await agent(`git clone -q ${UPSTREAM_URL} /work/app && cat /work/app/README.md && git -C /work/app ls-remote --get-url origin`)
    expect(cloned.exitCode, cloned.stderr).toBe(0)
    expect(cloned.stdout).toContain('# app')
    expect(cloned.stdout).toContain('http://git-gate:9420/app.git')
  })

  it('lands a clean push upstream', async () => {
    const pushed = await agent('cd /work/app && printf "export const answer = 42\\n" > answer.ts && git add answer.ts && git commit -q -m "add answer" && git push origin main 2>&1; echo "exit=$?"')
    expect(pushed.stdout).toContain('exit=0')
    expect(pushed.stdout).toContain('remote: bottle-git-gate: scanned 1 new commit(s); upstream accepted the push')
    const head = (await agent('git -C /work/app rev-parse HEAD')).stdout.trim()
    expect(await upstream.revParse('main')).toBe(head)
  })

  const secrets: Array<{ name: string; file: string; content: string; want: string }> = [
    { name: 'an AWS access key id', file: 'src/config.ts', content: `export const region = 'eu-west-1'\nexport const key = '${AWS_KEY}'\n`, want: 'src/config.ts:2: aws-access-key-id' },
    { name: 'a private key block', file: 'deploy/id.pem', content: PRIVATE_KEY, want: 'deploy/id.pem:1: private-key' },
  ]
  it.each(secrets)('refuses a push adding $name with file, line and rule; upstream is unchanged', async ({ file, content, want }) => {
    const before = await upstream.revParse('main')
    const written = await exec(client, ['sh', '-c', `mkdir -p "$(dirname /work/app/${file})" && cat > /work/app/${file}`], { stdin: content })
    expect(written.exitCode).toBe(0)
    const pushed = await agent(`cd /work/app && git add -A && git commit -q -m "add ${file}" && git push origin main 2>&1; echo "exit=$?"`)
    expect(pushed.stdout).toContain(`remote: bottle-git-gate: refused push: ${want} in commit`)
    expect(pushed.stdout).toContain('[remote rejected] main -> main (pre-receive hook declined)')
    expect(pushed.stdout).toMatch(/exit=[1-9]/)
    expect(pushed.stdout).not.toContain(AWS_KEY)
    expect(pushed.stdout).not.toContain(PRIVATE_KEY.split('\n')[1]!.slice(0, 24))
    expect(await upstream.revParse('main')).toBe(before)
    // The refused objects did not stay in the gate's mirror either.
    const refused = (await agent('git -C /work/app rev-parse HEAD')).stdout.trim()
    const inMirror = await hostGitDir(join(root, 'state', 'app.git'), ['cat-file', '-e', `${refused}^{commit}`])
    expect(inMirror).not.toBe(0)
    expect(await hostGitDir(join(root, 'state', 'app.git'), ['cat-file', '-e', `${before}^{commit}`])).toBe(0)
    // The agent drops the commit; the gate is not wedged.
    const reset = await agent('cd /work/app && git reset -q --hard origin/main && git status --porcelain')
    expect(reset.exitCode).toBe(0)
    const events = (await gateLogs()).filter((e) => e.event === 'push.refused')
    expect(JSON.stringify(events.at(-1))).toContain(want.split(':').slice(0, 1)[0])
  })

  it('pushes again after a refusal', async () => {
    const pushed = await agent('cd /work/app && echo again >> answer.ts && git commit -q -am again && git push -q origin main 2>&1; echo "exit=$?"')
    expect(pushed.stdout).toContain('exit=0')
    expect(await upstream.revParse('main')).toBe((await agent('git -C /work/app rev-parse HEAD')).stdout.trim())
  })

  it('fetch sees a commit someone else pushed upstream', async () => {
    const other = await upstream.git(`set -e; rm -rf /tmp/other; git clone -q ${UPSTREAM_REPO} /tmp/other; cd /tmp/other; echo theirs > theirs.txt; git add theirs.txt; git commit -q -m theirs; git push -q origin main`)
    expect(other.exitCode, other.stderr).toBe(0)
    const fetched = await agent('cd /work/app && git fetch -q origin && git rev-parse origin/main && git pull -q --ff-only && cat theirs.txt')
    expect(fetched.exitCode, fetched.stderr).toBe(0)
    expect(fetched.stdout).toContain(await upstream.revParse('main'))
    expect(fetched.stdout).toContain('theirs')
  })

  it('never learns a host key: a remote pinned to the wrong key fails closed', async () => {
    const cloned = await agent(`git clone -q ssh://git@upstream-alias:${UPSTREAM_PORT}${UPSTREAM_REPO} /work/mispinned 2>&1; echo "exit=$?"`)
    expect(cloned.stdout).toMatch(/exit=[1-9]/)
    expect(cloned.stdout).toContain('fatal: remote error: bottle-git-gate: upstream ssh://git@upstream-alias:2222/home/git/app.git is unreachable (')
    expect(cloned.stdout).toContain('is unreachable (Host key verification failed.)')
  })

  it('the agent holds no identity: no key file, no token, nothing in its environment', async () => {
    const look = await agent('ls -a /root/.ssh 2>&1; env; cat /root/.gitconfig; grep -rl "PRIVATE KEY" /root /work /tmp 2>/dev/null; true')
    expect(look.stdout).toContain('No such file or directory')
    expect(look.stdout).not.toContain(identityKeyLine)
    expect(look.stdout).not.toMatch(/OPENSSH PRIVATE KEY/)
    expect(look.stdout).not.toMatch(/GIT_SSH|SSH_AUTH_SOCK|TOKEN|PASSWORD/i)
    expect(look.stdout).not.toMatch(/^\/work\/app/m)
    // Nor did the key leak into the gate's log.
    expect(await logsOf(gateContainer)).not.toContain(identityKeyLine)
  })

  it('fails closed with a clear message when upstream is down, and recovers', async () => {
    await upstream.stop()
    try {
      const fetched = await agent('cd /work/app && git fetch origin 2>&1; echo "exit=$?"')
      expect(fetched.stdout).toMatch(/exit=[1-9]/)
      expect(fetched.stdout).toContain(`fatal: remote error: bottle-git-gate: upstream ${UPSTREAM_URL} is unreachable (`)
      expect(fetched.stdout).toContain('refusing to serve a stale copy')
      expect(fetched.stdout).toMatch(/unreachable \(ssh: (connect to host upstream|Could not resolve hostname upstream)/)
      const pushed = await agent('cd /work/app && git commit -q --allow-empty -m offline && git push origin main 2>&1; echo "exit=$?"; git reset -q --hard origin/main')
      expect(pushed.stdout).toMatch(/exit=[1-9]/)
      expect(pushed.stdout).toContain(`fatal: remote error: bottle-git-gate: upstream ${UPSTREAM_URL} is unreachable (`)
      expect(pushed.stdout).toContain('cannot push')
      const cloned = await agent(`git clone ${UPSTREAM_URL} /work/again 2>&1; echo "exit=$?"`)
      expect(cloned.stdout).toMatch(/exit=[1-9]/)
      expect(cloned.stdout).toContain('bottle-git-gate: upstream')
      // A remote with allowStale is served from its last mirror instead.
      const stale = await agent('git clone -q http://git-gate:9420/cached.git /work/cached 2>&1 && cat /work/cached/README.md')
      expect(stale.exitCode, stale.stdout).toBe(0)
      expect(stale.stdout).toContain('# app')
      const status = JSON.parse(readFileSync(join(root, 'state', 'status.json'), 'utf8')) as { remotes: Record<string, { lastRefresh?: { result: string; message: string } }> }
      expect(status.remotes.cached?.lastRefresh?.result).toBe('stale')
      expect(status.remotes.app?.lastRefresh?.result).toBe('failed')
      expect(status.remotes.app?.lastRefresh?.message).toMatch(/^cannot reach ssh:\/\/git@upstream:2222\/home\/git\/app\.git: [^\n]+$/)
    } finally {
      await upstream.start()
    }
    const recovered = await agent('cd /work/app && git fetch -q origin && git rev-parse origin/main')
    expect(recovered.exitCode, recovered.stderr).toBe(0)
    expect(recovered.stdout.trim()).toBe(await upstream.revParse('main'))
  })
})
