import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentLayout } from '../../../../controller/plan/agent-layout.js'
import { desiredAgent, type DesiredInputs } from '../../../../controller/plan/desired-agent.js'
import { claudeProjectFolder, PROVIDER_PLACEHOLDER, PROVIDERS, SESSIONS_DIR } from '../../../../controller/plan/providers.js'
import { renderEgressConfig } from '../../../../controller/plan/render-egress-config.js'
import { renderSidecarConfigs } from '../../../../controller/plan/sidecar-configs.js'
import { loadSpecTree, type SpecTree } from '../../../../controller/spec/load-spec-tree.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

const BOTTLE = `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: api.anthropic.com
        upstream: http://fake-origin.test:8080
        scan: {body: false}
  supervise: {enabled: true}
`
const agent = (name: string, spec: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  bottle: dev\n${spec}`

let folder: TempFolder
let tree: SpecTree

beforeAll(async () => {
  folder = await TempFolder.create('bottle-provider-')
  await folder.write('bottles/dev.yaml', BOTTLE)
  await folder.write('agents/impl.md', '---\nkind: Agent\napiVersion: bottle.dev/v1alpha1\nmetadata: {name: impl}\nspec:\n  bottle: dev\n  auth: {tokenRef: {env: CLAUDE_TOKEN}}\n  skills: [review]\n---\nYou review code.\n')
  await folder.write('agents/cx.yaml', agent('cx', '  provider: codex\n  auth: {tokenRef: {env: OPENAI_TOKEN}}\n'))
  await folder.write('agents/login.yaml', agent('login', '  provider: codex\n  auth: {forwardHostCredentials: true}\n'))
  await folder.write('agents/job.yaml', agent('job', '  task: {prompt: "fix the tests", timeout: 1m30s, retries: 2}\n'))
  // A skill's SKILL.md has frontmatter of its own; the loader must not read it as a spec.
  await folder.write('skills/review/SKILL.md', '---\nname: review\ndescription: reviews\n---\nRead the diff.\n')
  tree = await loadSpecTree(folder.path)
})

afterAll(async () => {
  await folder.dispose()
})

function desiredFor(name: string, extra: Partial<DesiredInputs> = {}) {
  const resolved = tree.agents.get(name)
  if (!resolved) throw new Error(`${name} did not load: ${JSON.stringify(tree.errors)}`)
  return desiredAgent({
    agent: resolved,
    layout: agentLayout('/state', name),
    images: { agent: 'agent:1', sidecars: 'sidecars:1' },
    caCertPem: 'PEM',
    secrets: new Map(),
    bundleUser: '0:0',
    configs: renderSidecarConfigs(resolved, { homeDir: '/home/u' }),
    identities: new Map(),
    ...extra,
  })
}

const fileOf = (d: ReturnType<typeof desiredFor>, path: string) => d.files.find((f) => f.path === path)

describe('provider setup for the agent', () => {
  it('skips the skills folder when loading specs', () => {
    expect(tree.errors).toEqual([])
    expect([...tree.agents.keys()].sort()).toEqual(['cx', 'impl', 'job', 'login'])
  })

  it('renders Claude settings, the prompt and skills, all world-readable and read at start', () => {
    const d = desiredFor('impl', { skills: new Map([['review', new Map([['SKILL.md', '# review\n']])]]) })
    const claude = JSON.parse(fileOf(d, 'agent/claude.json')!.content)
    expect(claude).toMatchObject({ hasCompletedOnboarding: true })
    expect(JSON.parse(fileOf(d, 'agent/claude-settings.json')!.content)).toEqual({ skipDangerousModePermissionPrompt: true })
    expect(claude.projects['/home/agent/workspace']).toMatchObject({ hasTrustDialogAccepted: true })
    expect(fileOf(d, 'agent/prompt.md')?.content).toBe('You review code.\n')
    expect(fileOf(d, 'agent/skills/review/SKILL.md')?.content).toBe('# review\n')
    expect(fileOf(d, 'agent/codex-config.toml')).toBeUndefined()
    for (const f of d.files.filter((f) => f.path.startsWith('agent/'))) expect(f).toMatchObject({ mode: 0o644, secret: false, onChange: 'none' })
  })

  it('gives the agent only a placeholder and the CLI folders under the sessions mount', () => {
    const d = desiredFor('impl')
    const env = d.parts.agent.env
    expect(env.CLAUDE_CODE_OAUTH_TOKEN).toBe(PROVIDER_PLACEHOLDER)
    expect(env.CLAUDE_CONFIG_DIR).toBe(`${SESSIONS_DIR}/claude`)
    expect(env.BOTTLE_PROVIDER).toBe('claude')
    expect(d.parts.agent.mounts).toContainEqual({ kind: 'bind', source: '/state/agents/impl/sessions', target: SESSIONS_DIR, readOnly: false })
    expect(d.parts.agent.command).toBeUndefined()
    expect(d.parts.agent.restart).toBeUndefined()
  })

  it("adds the token to the bottle's own route for the provider host, keeping its upstream and scan choice", () => {
    const egress = renderEgressConfig(tree.agents.get('impl')!)
    expect(egress.config.routes).toEqual([
      { host: 'api.anthropic.com', tls: 'intercept', upstream: 'http://fake-origin.test:8080', scan: { body: false }, auth: { scheme: 'Bearer', slot: 'env.CLAUDE_TOKEN' } },
    ])
    expect(egress.config.placeholders).toEqual([PROVIDER_PLACEHOLDER])
  })

  it('renders Codex config.toml with the trusted workspace and the MCP server, and an API-key placeholder login', () => {
    const d = desiredFor('cx')
    const toml = fileOf(d, 'agent/codex-config.toml')!.content
    expect(toml).toContain('[projects."/home/agent/workspace"]\ntrust_level = "trusted"')
    expect(toml).toContain('[mcp_servers."supervise"]\nurl = "http://supervise:9100/mcp"')
    expect(JSON.parse(fileOf(d, 'agent/codex-auth.json')!.content)).toEqual({ auth_mode: 'apikey', OPENAI_API_KEY: PROVIDER_PLACEHOLDER })
    expect(d.parts.agent.env.CODEX_HOME).toBe(`${SESSIONS_DIR}/codex`)
    const routes = renderEgressConfig(tree.agents.get('cx')!).config.routes ?? []
    expect(routes.find((r) => r.host === 'api.openai.com')?.auth).toEqual({ scheme: 'Bearer', slot: 'env.OPENAI_TOKEN' })
  })

  it("injects the host's Codex login for both OpenAI hosts when forwarding host credentials", () => {
    const egress = renderEgressConfig(tree.agents.get('login')!)
    const injected = (egress.config.routes ?? []).filter((r) => r.auth?.slot === 'host-login.codex').map((r) => r.host)
    expect(injected).toEqual(['api.openai.com', 'chatgpt.com'])
    expect(egress.secrets).toEqual([{ slot: 'host-login.codex', ref: { hostLogin: 'codex' }, purpose: 'provider codex' }])
    const d = desiredFor('login', { hostLoginAuth: '{"auth_mode":"chatgpt"}\n' })
    expect(fileOf(d, 'agent/codex-auth.json')?.content).toBe('{"auth_mode":"chatgpt"}\n')
    expect(Object.values(d.parts.agent.env)).not.toContain(PROVIDER_PLACEHOLDER)
  })

  it('runs a task headless under a timeout, retried by the engine', () => {
    const d = desiredFor('job')
    expect(d.parts.agent.command).toEqual(['timeout', '--kill-after=10', '90', 'claude', '-p', 'fix the tests', '--dangerously-skip-permissions'])
    expect(d.parts.agent.restart).toEqual({ onFailure: 2 })
    expect(d.parts.agent.env.BOTTLE_TASK).toBe('1')
    expect(d.task).toEqual({ retries: 2, timeout: '1m30s' })
  })

  it('changing a task or a skill recreates the agent; the same inputs give the same hash', () => {
    const a = desiredFor('impl', { skills: new Map([['review', new Map([['SKILL.md', 'one']])]]) })
    const b = desiredFor('impl', { skills: new Map([['review', new Map([['SKILL.md', 'two']])]]) })
    const c = desiredFor('impl', { skills: new Map([['review', new Map([['SKILL.md', 'one']])]]) })
    expect(a.parts.agent.hash).not.toBe(b.parts.agent.hash)
    expect(a.parts.agent.hash).toBe(c.parts.agent.hash)
  })
})

describe('provider table', () => {
  it('resume or start fresh, with the prompt file', () => {
    const claude = PROVIDERS.claude
    expect(claude.interactive({ resume: true, promptFile: '/p.md' })).toEqual(['claude', '--dangerously-skip-permissions', '--continue', '--append-system-prompt-file', '/p.md'])
    expect(claude.interactive({ resume: false })).toEqual(['claude', '--dangerously-skip-permissions'])
    const codex = PROVIDERS.codex
    expect(codex.interactive({ resume: true, promptFile: '/p.md' })).toEqual(['codex', 'resume', '--last', '--dangerously-bypass-approvals-and-sandbox'])
    expect(codex.interactive({ resume: false, promptFile: '/p.md' })).toEqual(['codex', '--dangerously-bypass-approvals-and-sandbox', 'Read and follow the instructions in /p.md.'])
    expect(codex.headless('go', {})).toEqual(['codex', 'exec', '--dangerously-bypass-approvals-and-sandbox', '--skip-git-repo-check', 'go'])
  })

  it("names Claude's transcript folder after the project path", () => {
    expect(claudeProjectFolder('/home/agent/workspace')).toBe('-home-agent-workspace')
    expect(claudeProjectFolder('/a/b.c')).toBe('-a-b-c')
  })
})
