import { configFilePath, EGRESS_CONFIG_PATH, EGRESS_SECRETS_PATH, GIT_GATE_CONFIG_PATH, GIT_GATE_SECRETS_PATH } from '../../sidecars/shared/bundle-contract.js'
import type { PartName, PartSpec } from './agent-parts.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { digest } from '../spec/spec-hash.js'
import { superviseFiles } from './render-supervise-files.js'
import type { EffectiveRoute } from './effective-route.js'
import { AGENT_IMAGE_LAYOUT, agentProxyEnvironment } from './agent-image-layout.js'
import { IN_BUNDLE, type AgentLayout } from './agent-layout.js'
import { BUNDLE_ALIASES, bundleUrl } from './bundle-services.js'
import { parseDuration } from '../spec/duration.js'
import { agentProvider, PROMPT_FILE, PROVIDER_PLACEHOLDER, SESSIONS_DIR } from './providers.js'
import { renderProviderFiles } from './render-provider-files.js'
import { renderGitconfig } from './render-agent-files.js'
import { gateRepositoryUrl, KNOWN_HOSTS_FILE, renderGitGateInsteadOf, type RenderedGitGate } from './render-git-gate-config.js'
import type { SecretRequirement, SecretValues } from './secret-slots.js'
import type { RenderedFile } from './rendered-file.js'
import type { SidecarConfigs } from './sidecar-configs.js'

/** Where the agent reaches the supervise MCP server. */
export const SUPERVISE_URL = bundleUrl('supervise', '/mcp')

export interface DesiredAgent {
  name: string
  specFile: string
  specHash: string
  suspended: boolean
  parts: Record<PartName, PartSpec>
  files: RenderedFile[]
  /** Secrets the config needs; those missing from the values given were left out of secrets.json. */
  secrets: SecretRequirement[]
  missingSecrets: SecretRequirement[]
  routes: EffectiveRoute[]
  daemons: string[]
  /** Set for an Agent that runs its task to completion instead of waiting for a person. */
  task?: { retries: number; timeout?: string }
}

export interface DesiredInputs {
  agent: ResolvedAgent
  layout: AgentLayout
  images: { agent: string; sidecars: string }
  /** PEM of the Agent's CA certificate (its key never leaves the bundle's config folder). */
  caCertPem: string
  secrets: SecretValues
  /** uid:gid the bundle runs as, so it can read the 0600 files the controller writes. */
  bundleUser: string
  /** The bundle's configs (renderSidecarConfigs), rendered once for both what must be read and what is written. */
  configs: SidecarConfigs
  /** Contents of the git identity files, by their path in the gate's config folder (`keys/<remote>`). */
  identities: ReadonlyMap<string, string>
  /** Files of each skill the Agent names (read from the spec repo's skills/<name>/). */
  skills?: ReadonlyMap<string, ReadonlyMap<string, string>>
  /** The CLI's placeholder login file when the Agent forwards the host's login (Codex's auth.json). */
  hostLoginAuth?: string
}

/** Seconds after SIGTERM before a timed-out task is killed. */
const TASK_KILL_AFTER_S = 10

/**
 * What one Agent should look like: both parts and every generated file.
 * Pure: the same inputs give the same parts and hashes, which is what makes
 * a resync of an unchanged Agent a no-op.
 */
export function desiredAgent(inputs: DesiredInputs): DesiredAgent {
  const { agent, layout, images } = inputs
  const { egress, gate, secrets: requirements } = inputs.configs
  const remotes = agent.bottle.spec.git?.remotes ?? []
  const secretValues: Record<string, string> = {}
  const gateSecretValues: Record<string, string> = {}
  const missingSecrets: SecretRequirement[] = []
  for (const requirement of requirements) {
    const value = inputs.secrets.get(requirement.slot)
    if (value === undefined) {
      missingSecrets.push(requirement)
      continue
    }
    if (egress.secrets.some((e) => e.slot === requirement.slot)) secretValues[requirement.slot] = value
    // The gate gets every secret of the bottle: a push carrying any of them is refused as a known secret.
    gateSecretValues[requirement.slot] = value
  }

  const files: RenderedFile[] = [
    { path: EGRESS_CONFIG_PATH, content: JSON.stringify(egress.config, null, 2) + '\n', mode: 0o600, secret: false, onChange: 'reload-sidecars' },
    { path: EGRESS_SECRETS_PATH, content: JSON.stringify(secretValues, null, 2) + '\n', mode: 0o600, secret: true, onChange: 'reload-sidecars' },
    { path: 'agent/ca.crt', content: inputs.caCertPem, mode: 0o644, secret: false, onChange: 'none' },
    { path: 'agent/gitconfig', content: renderGitconfig(agent.gitUser) + (gate ? renderGitGateInsteadOf(remotes) : ''), mode: 0o644, secret: false, onChange: 'none' },
    ...(gate ? gitGateFiles(gate, gateSecretValues, inputs.identities) : []),
    // With supervise: the daemon's config.json and the agent's mcp.json (none otherwise).
    ...superviseFiles(agent, SUPERVISE_URL),
  ]
  const provider = agentProvider(agent)
  files.push(...renderProviderFiles({
    agent,
    provider,
    mcpServers: agent.bottle.spec.supervise?.enabled ? [{ name: 'supervise', url: SUPERVISE_URL }] : [],
    skills: inputs.skills ?? new Map(),
    ...(inputs.hostLoginAuth !== undefined ? { hostLoginAuth: inputs.hostLoginAuth } : {}),
  }))

  const daemons = ['egress']
  if (gate) daemons.push('git-gate')
  if (agent.bottle.spec.supervise?.enabled) daemons.push('supervise')
  const workspace = agent.spec.workspace

  const env: Record<string, string> = {
    ...provider.env,
    ...agent.env,
    BOTTLE_AGENT: agent.name,
    BOTTLE_PROVIDER: provider.name,
    BOTTLE_SESSIONS_DIR: SESSIONS_DIR,
    ...agentProxyEnvironment(bundleUrl('egress'), ['localhost', '127.0.0.1', '::1', ...BUNDLE_ALIASES].join(',')),
    ...(agent.bottle.spec.supervise?.enabled ? { BOTTLE_SUPERVISE_URL: SUPERVISE_URL } : {}),
    // The entrypoint clones this through the gate into an empty workspace on first start, and never again.
    ...(workspace ? { BOTTLE_WORKSPACE_REPO: gateRepositoryUrl(workspace.remote), ...(workspace.ref ? { BOTTLE_WORKSPACE_REF: workspace.ref } : {}) } : {}),
    ...(agent.spec.auth?.tokenRef ? Object.fromEntries(provider.tokenEnv.map((name) => [name, PROVIDER_PLACEHOLDER])) : {}),
  }
  const task = agent.spec.task
  if (task) env.BOTTLE_TASK = '1'
  const taskCommand = task ? taskArgv(provider.headless(task.prompt, files.some((f) => f.path === 'agent/prompt.md') ? { promptFile: PROMPT_FILE } : {}), task.timeout) : undefined

  // Files read only at start are part of the agent's identity: changing them recreates it.
  const startFiles = files.filter((f) => f.path.startsWith('agent/')).map((f) => [f.path, digest(f.content)])
  const agentPart = withHash({
    image: images.agent,
    // The agent's tools leave orphans (editors, language servers); something must reap them.
    init: true,
    env,
    workdir: AGENT_IMAGE_LAYOUT.workspace,
    mounts: [
      { kind: 'workspace', target: AGENT_IMAGE_LAYOUT.workspace },
      { kind: 'bind', source: layout.agentConfig, target: AGENT_IMAGE_LAYOUT.configDir, readOnly: true },
      { kind: 'bind', source: layout.sessions, target: SESSIONS_DIR, readOnly: false },
    ],
    ...(taskCommand ? { command: taskCommand, restart: { onFailure: task?.retries ?? 0 } } : {}),
    ...(agent.bottle.spec.resources ? { resources: { ...agent.bottle.spec.resources } } : {}),
  }, { startFiles })

  // Remotes and host keys shape the gate (a change restarts the bundle); secrets and keys reload it.
  const gateShape = files.filter((f) => f.path.startsWith(configFilePath('git-gate', '')) && !f.secret).map((f) => [f.path, digest(f.content)])
  const sidecarsPart = withHash({
    image: images.sidecars,
    env: { BOTTLE_DAEMONS: daemons.join(','), BOTTLE_AGENT: agent.name },
    user: inputs.bundleUser,
    aliases: [...BUNDLE_ALIASES],
    // The bundle's own init (sidecars/init) supervises the daemons; this one below it reaps and forwards signals, as it always has.
    init: true,
    mounts: [
      { kind: 'bind', source: layout.sidecarsConfig, target: IN_BUNDLE.config, readOnly: true },
      { kind: 'bind', source: layout.sidecarsState, target: IN_BUNDLE.state, readOnly: false },
    ],
  }, { gateShape })

  return {
    name: agent.name,
    specFile: agent.file,
    specHash: agent.hash,
    suspended: agent.spec.suspend === true,
    ...(task ? { task: { retries: task.retries ?? 0, ...(task.timeout ? { timeout: task.timeout } : {}) } } : {}),
    parts: { agent: agentPart, sidecars: sidecarsPart },
    files,
    secrets: requirements,
    missingSecrets,
    routes: egress.routes,
    daemons,
  }
}

function gitGateFiles(gate: RenderedGitGate, secrets: Record<string, string>, identities: ReadonlyMap<string, string>): RenderedFile[] {
  const files: RenderedFile[] = [
    { path: GIT_GATE_CONFIG_PATH, content: JSON.stringify(gate.config, null, 2) + '\n', mode: 0o600, secret: false, onChange: 'none' },
    { path: GIT_GATE_SECRETS_PATH, content: JSON.stringify(secrets, null, 2) + '\n', mode: 0o600, secret: true, onChange: 'reload-sidecars' },
  ]
  if (gate.knownHosts) files.push({ path: configFilePath('git-gate', KNOWN_HOSTS_FILE), content: gate.knownHosts, mode: 0o600, secret: false, onChange: 'none' })
  for (const copy of gate.identityFiles) {
    const content = identities.get(copy.target)
    if (content !== undefined) files.push({ path: configFilePath('git-gate', copy.target), content, mode: copy.mode, secret: true, onChange: 'reload-sidecars' })
  }
  return files
}

/** The task's CLI run, under coreutils' timeout when the spec sets one (exit 124 means it ran out). */
function taskArgv(argv: string[], timeout: string | undefined): string[] {
  if (!timeout) return argv
  const seconds = Math.max(1, Math.ceil(parseDuration(timeout) / 1000))
  return ['timeout', `--kill-after=${TASK_KILL_AFTER_S}`, String(seconds), ...argv]
}

function withHash(spec: Omit<PartSpec, 'hash'>, extra: object): PartSpec {
  return { ...spec, hash: digest({ spec: hashedFields(spec), extra }, 12) }
}

/**
 * The fields a part's hash covers. `init` and `aliases` became PartSpec
 * fields after parts had been created without them, when the Docker driver
 * always ran an init and gave the bundle these aliases itself. At those old
 * defaults they are left out, so an upgrade does not recreate every running
 * part; any other value changes the hash as every field does.
 */
export function hashedFields(spec: Omit<PartSpec, 'hash'>): Partial<Omit<PartSpec, 'hash'>> {
  const { init, aliases, ...rest } = spec
  return {
    ...rest,
    ...(init ? {} : { init }),
    ...(aliases === undefined || sameList(aliases, BUNDLE_ALIASES) ? {} : { aliases }),
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
