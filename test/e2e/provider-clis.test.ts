/**
 * The real agent CLIs in real bottles: Claude Code and Codex, installed in
 * their images, provisioned by the entrypoint, authenticated through egress
 * while holding only a placeholder. A fake Anthropic origin and a fake
 * OpenAI origin sit on the bottle's egress side (routes with `upstream`) and
 * record the Authorization header they see. Also: tasks run to Succeeded and
 * to Failed after their retries, and transcripts outlive a recreate.
 */
import Dockerode from 'dockerode'
import { existsSync, readdirSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROVIDER_PLACEHOLDER } from '../../controller/plan/providers.js'
import { DockerDriver } from '../../controller/runtime/docker/docker-driver.js'
import type { ObjectStatus } from '../../controller/status/status-types.js'
import { dockerHostAddress } from '../../scripts/lib/docker-host-address.js'
import { createLeafCertificates, mintCertificateAuthority } from '../../sidecars/egress/certificates.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../helpers/controller-process.js'
import { startFakeAnthropicOrigin, startFakeOpenAIOrigin, type FakeProviderOrigin } from '../helpers/fake-provider-origins.js'
import { runCli } from '../helpers/run-cli.js'
import { TempFolder } from '../helpers/temp-folder.js'
import { TmuxPane } from '../helpers/tmux-pane.js'
import { packageRoot } from '../../controller/package-root.js'

const docker = new Dockerode()
const instance = uniqueInstance('cli')
const driver = new DockerDriver({ instance, logger: pino({ level: 'silent' }) })
const stamp = Date.now().toString(36)
// Shaped like no credential the DLP knows, so only the exact-match checks see them.
const CLAUDE_TOKEN = `claude-canary-${stamp}-7c1d9e`
const OPENAI_TOKEN = `openai-canary-${stamp}-4b2a8f`
const CLAUDE_ANSWER = `hello from the fake anthropic ${stamp}`
const OPENAI_ANSWER = `hello from the fake openai ${stamp}`
const REFUSE = 'please-fail-on-purpose'
const LOGIN_REFRESH = `rt-canary-${stamp}-0d9e`

/** A JWT shaped like the host's Codex login tokens (signature included, which must not travel). */
function hostJwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from(`signature-${stamp}`).toString('base64url')}`
}
const LOGIN_ACCESS = hostJwt({ exp: Math.floor(Date.now() / 1000) + 6 * 3600, iat: Math.floor(Date.now() / 1000), sub: `user-${stamp}`, email: `someone-${stamp}@example.com`, 'https://api.openai.com/auth': { chatgpt_plan_type: 'plus', chatgpt_account_id: 'acct-test' } })

const finished = (s: ObjectStatus) => s.phase === 'Succeeded' || s.phase === 'Failed'

describe('agent CLIs in bottles', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess
  let anthropic: FakeProviderOrigin
  let openai: FakeProviderOrigin
  let pane: TmuxPane | undefined

  const exec = (agent: string, argv: string[]) => runCli(['exec', agent, '--instance', instance, '--', ...argv])
  const agentSpec = (name: string, spec: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  bottle: dev\n${spec}`

  beforeAll(async () => {
    const host = await dockerHostAddress()
    specs = await TempFolder.create('bottle-clis-specs-')
    state = await TempFolder.create('bottle-clis-state-')
    // Egress injects a credential only over https: the origins get a certificate from a CA the controller is told to trust.
    const ca = mintCertificateAuthority({ commonName: 'bottle test provider origins CA' })
    const caFile = await state.write('origin-ca.crt', ca.certPem)
    const leaves = createLeafCertificates({ ca })
    const tls = { certPem: leaves.certificateFor(host).certPem, keyPem: leaves.keyPem }
    anthropic = await startFakeAnthropicOrigin({ answer: CLAUDE_ANSWER, refuseWhenBodyHas: REFUSE, tls })
    openai = await startFakeOpenAIOrigin({ answer: OPENAI_ANSWER, tls })
    await specs.write('bottles/dev.yaml', `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: api.anthropic.com
        upstream: https://${host}:${anthropic.port}
        scan: {body: false}
      - host: api.openai.com
        upstream: https://${host}:${openai.port}
      # Codex asks chatgpt.com for its model list even with an API key; a quick 404 beats a refused tunnel's retries.
      - host: chatgpt.com
        upstream: https://${host}:${openai.port}
    allowPrivate: ["${host}/32"]
  supervise: {enabled: true}
`)
    await specs.write('skills/review/SKILL.md', '---\nname: review\ndescription: Review a diff\n---\nRead the diff and comment.\n')
    await specs.write('agents/claude-box.md', `---\napiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: claude-box}\nspec:\n  bottle: dev\n  provider: claude\n  auth: {tokenRef: {env: CLAUDE_TOKEN}}\n  skills: [review]\n---\nYou are a careful reviewer.\n`)
    await specs.write('agents/codex-box.yaml', agentSpec('codex-box', '  provider: codex\n  auth: {tokenRef: {env: OPENAI_TOKEN}}\n'))
    await specs.write('agents/codex-login.yaml', agentSpec('codex-login', '  provider: codex\n  auth: {forwardHostCredentials: true}\n'))
    const hostCodexHome = join(state.path, 'host-codex')
    await state.write('host-codex/auth.json', JSON.stringify({ auth_mode: 'chatgpt', OPENAI_API_KEY: null, tokens: { id_token: LOGIN_ACCESS, access_token: LOGIN_ACCESS, refresh_token: LOGIN_REFRESH, account_id: 'acct-test' }, last_refresh: new Date().toISOString() }))
    await chmod(join(hostCodexHome, 'auth.json'), 0o600)
    await specs.write('agents/job-ok.yaml', agentSpec('job-ok', '  auth: {tokenRef: {env: CLAUDE_TOKEN}}\n  task: {prompt: "say hi", timeout: 5m}\n'))
    await specs.write('agents/job-fail.yaml', agentSpec('job-fail', `  auth: {tokenRef: {env: CLAUDE_TOKEN}}\n  task: {prompt: "${REFUSE}", retries: 1}\n`))
    controller = new ControllerProcess(specs, state, instance, { CLAUDE_TOKEN, OPENAI_TOKEN, CODEX_HOME: hostCodexHome }, ['--upstream-ca', caFile])
    controller.start()
    await controller.waitForStatus('agents/claude-box.md', 'claude-box', isReady, 300_000)
    await controller.waitForStatus('agents/codex-box.yaml', 'codex-box', isReady, 300_000)
    await controller.waitForStatus('agents/codex-login.yaml', 'codex-login', isReady, 300_000)
  }, 600_000)

  afterAll(async () => {
    await pane?.dispose()
    await controller?.stop()
    await anthropic?.close()
    await openai?.close()
    await removeInstance(docker, instance)
    await specs?.dispose()
    await state?.dispose()
  })

  it('claude -p answers through egress: the origin saw the real token, the agent holds only the placeholder', async () => {
    const result = await exec('claude-box', ['claude', '-p', 'say hi'])
    expect(result.stdout + result.stderr).toContain(CLAUDE_ANSWER)
    expect(result.code).toBe(0)
    const calls = anthropic.requests.filter((r) => r.path.startsWith('/v1/messages'))
    expect(calls.length).toBeGreaterThan(0)
    for (const call of calls) expect(call.authorization).toBe(`Bearer ${CLAUDE_TOKEN}`)
    expect(anthropic.requests.some((r) => JSON.stringify(r.headers).includes(PROVIDER_PLACEHOLDER))).toBe(false)
  }, 120_000)

  it('codex exec answers through egress with the real key, and only api.openai.com got it', async () => {
    const result = await exec('codex-box', ['codex', 'exec', '--dangerously-bypass-approvals-and-sandbox', '--skip-git-repo-check', 'say hi'])
    expect(result.stdout).toContain(OPENAI_ANSWER)
    expect(result.code).toBe(0)
    const model = openai.requests.filter((r) => r.path.startsWith('/v1/responses'))
    expect(model.length).toBeGreaterThan(0)
    for (const call of model) expect(call.authorization).toBe(`Bearer ${OPENAI_TOKEN}`)
    // chatgpt.com is a route without auth: the key is not injected there, and the placeholder was stripped.
    for (const call of openai.requests.filter((r) => r.path.startsWith('/backend-api/'))) expect(call.authorization).toBe('')
  }, 180_000)

  it("codex with the host's ChatGPT login: the box holds a placeholder Codex accepts, egress sends the host's access token on every call", async () => {
    const status = await exec('codex-login', ['sh', '-c', 'codex login status 2>&1; cat "$CODEX_HOME/auth.json"'])
    expect(status.stdout).toMatch(/ChatGPT/)
    for (const secret of [LOGIN_ACCESS, LOGIN_REFRESH, `signature-${stamp}`, `user-${stamp}`, `someone-${stamp}`]) expect(status.stdout).not.toContain(secret)
    // Codex's ChatGPT backend (account checks, then the model) is private API the fake origin does not
    // emulate: what is checked here is what reaches it, i.e. the host's token on every call, and no placeholder.
    const before = openai.requests.length
    await exec('codex-login', ['timeout', '20', 'codex', 'exec', '--dangerously-bypass-approvals-and-sandbox', '--skip-git-repo-check', 'say hi'])
    const calls = openai.requests.slice(before).filter((r) => r.path.startsWith('/backend-api/'))
    expect(calls.length).toBeGreaterThan(0)
    for (const call of calls) expect(call.authorization, `${call.method} ${call.path}`).toBe(`Bearer ${LOGIN_ACCESS}`)
    expect(calls.some((c) => JSON.stringify(c.headers).includes('placeholder'))).toBe(false)
    const info = JSON.stringify(await docker.getContainer(`bottle-${instance}-codex-login-agent`).inspect())
    expect(info).not.toContain(LOGIN_ACCESS)
    expect(info).not.toContain(LOGIN_REFRESH)
  }, 180_000)

  it("neither token is in the agents' env, files or docker inspect", async () => {
    for (const agent of ['claude-box', 'codex-box', 'codex-login']) {
      const info = await docker.getContainer(`bottle-${instance}-${agent}-agent`).inspect()
      const text = JSON.stringify(info)
      expect(text).not.toContain(CLAUDE_TOKEN)
      expect(text).not.toContain(OPENAI_TOKEN)
      expect(text).not.toContain(LOGIN_ACCESS)
      if (agent !== 'codex-login') expect(text).toContain(PROVIDER_PLACEHOLDER)
      // As the agent (its own 0600 files) and as root (the rest; root here cannot read the agent's files).
      for (const user of ['agent', 'root']) {
        const grep = await driver.exec(agent, 'agent', ['sh', '-c', `grep -rlsF -e '${CLAUDE_TOKEN}' -e '${OPENAI_TOKEN}' -e '${LOGIN_ACCESS}' -e '${LOGIN_REFRESH}' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; echo "searched"`], { user })
        expect(grep.stdout.trim()).toBe('searched')
      }
      const env = await driver.exec(agent, 'agent', ['sh', '-c', 'cat /proc/1/environ | tr "\\0" "\\n"'])
      expect(env.stdout).not.toContain(CLAUDE_TOKEN)
      expect(env.stdout).not.toContain(OPENAI_TOKEN)
    }
  }, 120_000)

  it('provisions each CLI: trust flags, prompt, skills, the supervise MCP server', async () => {
    const claude = await exec('claude-box', ['sh', '-c', 'cat "$CLAUDE_CONFIG_DIR/.claude.json"; echo; cat "$CLAUDE_CONFIG_DIR/settings.json"; cat ~/.bottle/prompt.md; cat "$CLAUDE_CONFIG_DIR/skills/review/SKILL.md"'])
    expect(claude.code).toBe(0)
    const config = JSON.parse(claude.stdout.slice(0, claude.stdout.indexOf('\n}\n') + 2)) as Record<string, unknown>
    expect(config, JSON.stringify(config)).toMatchObject({ hasCompletedOnboarding: true, mcpServers: { supervise: { type: 'http', url: 'http://supervise:9100/mcp' } } })
    expect(claude.stdout).toContain('"skipDangerousModePermissionPrompt": true')
    expect((config.projects as Record<string, { hasTrustDialogAccepted?: boolean }>)['/home/agent/workspace']?.hasTrustDialogAccepted).toBe(true)
    expect(claude.stdout).toContain('You are a careful reviewer.')
    expect(claude.stdout).toContain('Read the diff and comment.')
    const codex = await exec('codex-box', ['sh', '-c', 'cat "$CODEX_HOME/config.toml"; stat -c %a "$CODEX_HOME/auth.json"; codex login status 2>&1'])
    expect(codex.stdout).toContain('trust_level = "trusted"')
    expect(codex.stdout).toContain('[mcp_servers."supervise"]')
    expect(codex.stdout).toContain('600')
    expect(codex.stdout).toMatch(/API key/i)
  }, 60_000)

  it('a task runs headless to Succeeded, with its output in bottle logs', async () => {
    const status = await controller.waitForStatus('agents/job-ok.yaml', 'job-ok', finished, 300_000)
    expect(status.phase).toBe('Succeeded')
    expect(status.task).toMatchObject({ state: 'Succeeded', attempts: 1, maxAttempts: 1, exitCode: 0 })
    expect(status.task?.durationSeconds).toBeGreaterThanOrEqual(0)
    const logs = await runCli(['logs', 'job-ok', '--instance', instance])
    expect(logs.stdout).toContain(CLAUDE_ANSWER)
  }, 320_000)

  it('a task whose prompt fails is Failed after its retries, with the exit code and the error in its logs', async () => {
    const status = await controller.waitForStatus('agents/job-fail.yaml', 'job-fail', finished, 300_000)
    expect(status.phase).toBe('Failed')
    expect(status.task).toMatchObject({ state: 'Failed', attempts: 2, maxAttempts: 2 })
    expect(status.task?.exitCode).not.toBe(0)
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'TaskFailed' })
    const logs = await runCli(['logs', 'job-fail', '--instance', instance])
    expect(logs.stdout + logs.stderr).toMatch(/refused on purpose|400|invalid_request/i)
    // Stays failed: nothing restarts it.
    const info = await docker.getContainer(`bottle-${instance}-job-fail-agent`).inspect()
    expect(info.State.Status).toBe('exited')
    expect(info.RestartCount).toBe(1)
  }, 320_000)

  it('bottle attach opens Claude Code with nothing to click through; a detach leaves it working and the next attach returns to it', async () => {
    const root = packageRoot()
    const attach = (extra: string) => `clear; node ${join(root, 'bin/bottle.js')} attach claude-box --dir ${specs.path} --instance ${instance}${extra}; echo "bottle-exit=$?"`
    pane = await TmuxPane.start(['bash', '--norc', '--noprofile'], { columns: 120, rows: 40, cwd: root, env: { PS1: 'outer$ ', TERM: 'xterm-256color' } })
    await pane.waitFor(/^outer\$ $/m)
    await pane.type(attach(' --new'))
    // No onboarding, theme, trust or bypass-permissions dialog stands between the user and the prompt box.
    const first = await pane.waitFor(/bypass permissions on/i, 60_000)
    expect(first).not.toMatch(/trust this folder|Choose the text style|Yes, I accept/i)
    await pane.type(`tell me something ${stamp}`)
    await pane.waitFor(new RegExp(CLAUDE_ANSWER), 60_000)
    const claudes = async () => (await exec('claude-box', ['sh', '-c', 'pgrep -u agent -x claude'])).stdout.trim().split('\n').filter(Boolean)
    // The session's CLI: the oldest claude process (it may start helpers of its own).
    const [sessionPid] = await claudes()
    await pane.press('C-p', 'C-q')
    await pane.waitFor(/detached from claude-box; the session keeps running/)
    await pane.waitFor(/^bottle-exit=0$/m)
    // Detached, the same Claude process keeps running in the box.
    expect(sessionPid).toMatch(/^\d+$/)
    expect(await claudes()).toContain(sessionPid)

    // Attached again: the same process, the conversation on the screen.
    await pane.type(attach(''))
    await pane.waitFor(new RegExp(`tell me something ${stamp}`), 60_000)
    expect(await claudes()).toContain(sessionPid)
    await pane.press('C-p', 'C-q')
    await pane.waitFor(/^bottle-exit=0$/m)

    // --new hangs that one up (its transcript stays) and starts a new conversation.
    await pane.type(attach(' --new'))
    await pane.waitFor(/bypass permissions on/i, 60_000)
    const screen = await pane.screen()
    expect(screen).not.toContain(`tell me something ${stamp}`)
    // The old CLI is gone (hung up, or terminated after 5 s); a new one runs.
    let claudeAfter: string[] = []
    for (let i = 0; i < 60; i++) {
      claudeAfter = await claudes()
      if (!claudeAfter.includes(sessionPid!)) break
      await sleep(250)
    }
    expect(claudeAfter).not.toContain(sessionPid)
    expect(claudeAfter.length).toBeGreaterThan(0)
    await pane.press('C-p', 'C-q')
    await pane.waitFor(/^bottle-exit=0$/m)
  }, 240_000)

  it("keeps Claude's transcript across a recreate, so attach would continue it", async () => {
    const sessionsDirs = findSessions(state.path, 'claude-box')
    expect(sessionsDirs, 'the sessions folder of claude-box').toBeDefined()
    const transcripts = join(sessionsDirs!, 'claude/projects/-home-agent-workspace')
    expect(existsSync(transcripts) && readdirSync(transcripts).some((f) => f.endsWith('.jsonl'))).toBe(true)
    const before = (await docker.getContainer(`bottle-${instance}-claude-box-agent`).inspect()).Id
    await specs.write('agents/claude-box.md', (await specs.read('agents/claude-box.md')).replace('  skills: [review]\n', '  skills: [review]\n  env: {EDITOR: vi}\n'))
    await controller.waitForStatus('agents/claude-box.md', 'claude-box', (s) => isReady(s) && s.runtime?.agent?.id !== before.slice(0, 12), 120_000)
    let hasSession = -1
    for (let i = 0; i < 50 && hasSession !== 0; i++) {
      hasSession = (await exec('claude-box', ['sh', '-c', 'ls "$CLAUDE_CONFIG_DIR"/projects/-home-agent-workspace/*.jsonl >/dev/null'])).code
      if (hasSession !== 0) await sleep(200)
    }
    expect(hasSession).toBe(0)
  }, 180_000)
})

function findSessions(stateRoot: string, agent: string): string | undefined {
  for (const instanceDir of readdirSync(stateRoot)) {
    const path = join(stateRoot, instanceDir, 'agents', agent, 'sessions')
    if (existsSync(path)) return path
  }
  return undefined
}
