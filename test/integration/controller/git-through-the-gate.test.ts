/**
 * An Agent works on a real repository through its bottle's git gate, set up
 * by the controller from the Bottle's git.remotes: the workspace is cloned
 * through the gate on first start, a clean push lands upstream, a push with
 * a secret is refused naming file and rule, and the identity never enters
 * the agent's box. The upstream is a real sshd (from the offline base image)
 * with a pinned host key, on the host's network so the bundle dials it the
 * way it would dial any host.
 */
import Dockerode from 'dockerode'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { dockerHostAddress } from '../../../scripts/lib/docker-host-address.js'
import { ControllerProcess, isReady, removeInstance, uniqueInstance } from '../../helpers/controller-process.js'
import { runCli } from '../../helpers/run-cli.js'
import { TempFolder } from '../../helpers/temp-folder.js'
import { removeRun, uniqueRun } from '../sidecars/git-gate/support/containers.js'
import { generateIdentity } from '../sidecars/git-gate/support/gate-config.js'
import { startSshUpstream, UPSTREAM_PORT, UPSTREAM_REPO, type SshUpstream } from '../sidecars/git-gate/support/ssh-upstream.js'

const docker = new Dockerode()
const instance = uniqueInstance('git')
const run = uniqueRun('ctlgit')
// An AWS-shaped key id, assembled at run time so this file holds none.
const LEAK = ['AKIA', 'Q3XM7RZ2P6N4KW5B'].join('')

describe('git through the gate, set up by the controller', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess
  let upstream: SshUpstream
  let identity: { privateKey: string; publicKey: string }

  const inAgent = (script: string) => runCli(['exec', 'agent1', '--instance', instance, '--', 'sh', '-c', script])

  beforeAll(async () => {
    const base = await new DockerImageStore({ logger: pino({ level: 'warn' }) }).ensureBase()
    identity = generateIdentity(mkdtempSync(join(tmpdir(), 'bottle-git-id-')))
    upstream = await startSshUpstream({ run, name: `${run}-upstream`, image: base, network: 'host', alias: 'upstream', publicKey: identity.publicKey })
    const host = await dockerHostAddress()
    specs = await TempFolder.create('bottle-git-specs-')
    state = await TempFolder.create('bottle-git-state-')
    await specs.write('bottles/dev.yaml', `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  git:
    user: {name: Agent One, email: agent1@example.com}
    remotes:
      - name: app
        upstream: ssh://git@${host}:${UPSTREAM_PORT}${UPSTREAM_REPO}
        identityFile: ${identity.privateKey}
        knownHostKey: "${upstream.hostKey}"
`)
    await specs.write('agents/agent1.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: agent1}\nspec:\n  bottle: dev\n  workspace: {remote: app, ref: main}\n')
    controller = new ControllerProcess(specs, state, instance)
    controller.start()
    await controller.waitForStatus('agents/agent1.yaml', 'agent1', isReady)
  })

  afterAll(async () => {
    await controller?.stop()
    await removeInstance(docker, instance)
    await removeRun(run)
    await specs?.dispose()
    await state?.dispose()
  })

  it('clones the workspace through the gate on first start', async () => {
    const deadline = Date.now() + 60_000
    let log = await inAgent('git -C ~/workspace log --format=%s 2>&1')
    while (!log.stdout.includes('initial commit') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500))
      log = await inAgent('git -C ~/workspace log --format=%s 2>&1')
    }
    expect(log.stdout).toContain('initial commit')
    const remote = await inAgent('git -C ~/workspace remote get-url origin')
    expect(remote.stdout.trim()).toBe('http://git-gate:9420/app.git')
  })

  it('a clean push lands upstream, with the agent identity from the specs', async () => {
    const pushed = await inAgent('cd ~/workspace && echo hello > hello.txt && git add hello.txt && git commit -qm "add hello" && git push -q origin HEAD:main 2>&1; echo "exit=$?"')
    expect(pushed.stdout).toContain('exit=0')
    const head = await upstream.git(`git --git-dir=${UPSTREAM_REPO} log -1 --format='%s|%an'`)
    expect(head.stdout.trim()).toBe('add hello|Agent One')
  })

  it('a push carrying an AWS-shaped key is refused with file and rule, and upstream is unchanged', async () => {
    const before = await upstream.revParse('main')
    const pushed = await inAgent(`cd ~/workspace && mkdir -p src && printf 'export const key = "${LEAK}"\\n' > src/config.ts && git add src && git commit -qm "config" && git push origin HEAD:main 2>&1; echo "exit=$?"`)
    expect(pushed.stdout).toMatch(/bottle-git-gate: refused push: src\/config\.ts:1: aws-access-key-id/)
    expect(pushed.stdout).toContain('exit=1')
    expect(pushed.stdout).not.toContain(LEAK.slice(4))
    expect(await upstream.revParse('main')).toBe(before)
  })

  it('the identity is nowhere in the agent: not its env, files, or docker inspect', async () => {
    const privateKey = (await import('node:fs')).readFileSync(identity.privateKey, 'utf8')
    const keyLine = privateKey.split('\n')[1]!
    const inspect = await docker.getContainer(`bottle-${instance}-agent1-agent`).inspect()
    expect(JSON.stringify(inspect)).not.toContain(keyLine)
    const search = await runCli(['exec', 'agent1', '--instance', instance, '--user', 'root', '--', 'sh', '-c', `grep -rlsF -- '${keyLine}' /home /root /etc /tmp /var /run /opt /usr/local | head -5; env | grep -c BEGIN || true`])
    expect(search.stdout.trim()).toBe('0')
    const sidecarsInspect = await docker.getContainer(`bottle-${instance}-agent1-sidecars`).inspect()
    expect(JSON.stringify(sidecarsInspect.Config.Env)).not.toContain(keyLine)
  })
})
