// Generated from crds/*.yaml by scripts/generate-spec-types.mjs. Do not edit by hand:
// edit the CRD and run `npm run generate:types`.

/** A coding agent, the Bottle it runs in, and what it works on. */
export interface Agent {
  apiVersion: "bottle.dev/v1alpha1"
  kind: "Agent"
  metadata: ObjectMeta
  spec: AgentSpec
}

export interface ObjectMeta {
  /** Lowercase letters, digits and dashes, starting with a letter; at most 53 characters. */
  name: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface AgentSpec {
  /** Name of the Bottle this agent runs in. */
  bottle: string
  /** The agent CLI. Default claude. */
  provider?: "claude" | "codex"
  /** The agent's system prompt. In a .md spec the body is the prompt. */
  prompt?: string
  /** Folders under skills/ in the spec repo, copied into the agent. */
  skills?: string[]
  env?: EnvMap
  git?: AgentSpecGit
  /** Clone this remote of the bottle through the git gate into the workspace on first start; never overwritten afterwards. */
  workspace?: AgentSpecWorkspace
  /** The provider's API credential. Egress injects it; the agent sees a placeholder. */
  auth?: AgentSpecAuth
  /** Run headless as a job instead of an interactive session. */
  task?: AgentSpecTask
  /** Stop the agent but keep everything (workspace, config). Default false. */
  suspend?: boolean
}

/** Plain environment values, overlaid on the bottle's env. Secrets are never literal values here. */
export type EnvMap = Record<string, string>

export interface AgentSpecGit {
  /** Overlays the bottle's git.user field by field. */
  user?: AgentSpecGitUser
}

/** Overlays the bottle's git.user field by field. */
export interface AgentSpecGitUser {
  name?: string
  email?: string
}

/** Clone this remote of the bottle through the git gate into the workspace on first start; never overwritten afterwards. */
export interface AgentSpecWorkspace {
  remote: string
  ref?: string
}

/** The provider's API credential. Egress injects it; the agent sees a placeholder. */
export interface AgentSpecAuth {
  tokenRef?: TokenRef
  /** codex only: forward the host login's access token. */
  forwardHostCredentials?: boolean
}

/** Where the controller reads a secret - exactly one of env or file. */
export interface TokenRef {
  env?: string
  file?: string
}

/** Run headless as a job instead of an interactive session. */
export interface AgentSpecTask {
  prompt: string
  /** A duration such as 90s, 30m or 1h30m. */
  timeout?: string
  retries?: number
}

/** A sandbox for coding agents - its image, resources, egress routes, git remotes and supervision. */
export interface Bottle {
  apiVersion: "bottle.dev/v1alpha1"
  kind: "Bottle"
  metadata: ObjectMeta
  /** What the bottle provides. Every field is optional; `extends` inherits from another Bottle. */
  spec: BottleSpec
}

/** What the bottle provides. Every field is optional; `extends` inherits from another Bottle. */
export interface BottleSpec {
  /** Name of a parent Bottle. env merges (child wins), git.user merges per field, git.remotes merges by name (an empty remotes list clears them); egress, image, supervise and resources replace whole. */
  extends?: string
  /** Where agents of this bottle run. Default docker. */
  runtime?: "docker" | "vm" | "smolvm"
  /** The agent image - exactly one of provider (a bundled image), dockerfile (a path in the spec repo) or ref (an image the engine already has). */
  image?: BottleSpecImage
  env?: EnvMap
  resources?: BottleSpecResources
  /** The agent's only way out. Default deny; each route allows one host (or *.suffix). */
  egress?: BottleSpecEgress
  git?: BottleSpecGit
  supervise?: BottleSpecSupervise
  /** Where new proposals of this Bottle's agents (their own and drafts from refusals) are posted as JSON, besides the controller's --notify. Replaces whole through extends. */
  notify?: BottleSpecNotify
}

/** The agent image - exactly one of provider (a bundled image), dockerfile (a path in the spec repo) or ref (an image the engine already has). */
export interface BottleSpecImage {
  provider?: "claude" | "codex"
  /** Path to a Dockerfile, relative to the spec file. */
  dockerfile?: string
  ref?: string
}

export interface BottleSpecResources {
  cpus?: number
  memoryMiB?: number
}

/** The agent's only way out. Default deny; each route allows one host (or *.suffix). */
export interface BottleSpecEgress {
  routes?: EgressRoute[]
  dlp?: BottleSpecEgressDlp
  /** CIDRs of private addresses the proxy may dial (SSRF opt-in), e.g. 100.78.141.42/32. */
  allowPrivate?: string[]
  /** Per base domain budgets that bound slow exfiltration. */
  limits?: BottleSpecEgressLimits
  /** On by default: a host an agent is refused (no-route) repeatedly within denialWindow becomes a draft Proposal (source denial) for a human to approve or reject. false turns it off. */
  proposeOnDenial?: boolean
  /** How many no-route refusals of one host, within how long, make a draft Proposal. Default 3 within 10m. */
  denialWindow?: BottleSpecEgressDenialWindow
}

export interface EgressRoute {
  /** An exact host name or *.suffix (strict subdomains of suffix). Case-insensitive; unique per bottle. */
  host: string
  /** Allowed path prefixes (needs interception). Absent means every path. */
  paths?: string[]
  /** Credential the proxy injects; the agent never holds it. Needs interception. */
  auth?: EgressRouteAuth
  /** Dial this origin (https://host[:port]) instead of the requested host. */
  upstream?: string
  /** intercept (default) inspects traffic; passthrough tunnels it with a host check only - no paths, auth or content DLP. */
  tls?: "intercept" | "passthrough"
  scan?: EgressRouteScan
}

/** Credential the proxy injects; the agent never holds it. Needs interception. */
export interface EgressRouteAuth {
  scheme: "Bearer" | "token"
  tokenRef: TokenRef
}

export interface EgressRouteScan {
  /** Scan request bodies (default true). URL and header scanning always stay on. */
  body?: boolean
}

export interface BottleSpecEgressDlp {
  /** block (default) refuses a request that carries a secret; warn only logs it. */
  action?: "block" | "warn"
}

/** Per base domain budgets that bound slow exfiltration. */
export interface BottleSpecEgressLimits {
  requestsPerMinute?: number
  bytesPerMinute?: number
}

/** How many no-route refusals of one host, within how long, make a draft Proposal. Default 3 within 10m. */
export interface BottleSpecEgressDenialWindow {
  refusals?: number
  /** A duration such as 90s, 10m or 1h. */
  within?: string
}

export interface BottleSpecGit {
  user?: GitUser
  /** Repositories the agent reaches through its git gate. The gate holds the credentials. */
  remotes?: GitRemote[]
}

export interface GitUser {
  name?: string
  email?: string
}

export interface GitRemote {
  /** The repository name on the gate. */
  name: string
  /** ssh://user@host[:port]/path or https://host/path. */
  upstream: string
  /** SSH private key for ssh upstreams; read by the controller only. */
  identityFile?: string
  /** The upstream host key ("ssh-ed25519 AAAA..."); pinned, never learned on first use. */
  knownHostKey?: string
  tokenRef?: TokenRef
  /** Serve the last mirror when upstream is unreachable (default false - fail closed). */
  allowStale?: boolean
}

export interface BottleSpecSupervise {
  /** Run the supervise MCP server so the agent can ask for more reach. */
  enabled?: boolean
}

/** Where new proposals of this Bottle's agents (their own and drafts from refusals) are posted as JSON, besides the controller's --notify. Replaces whole through extends. */
export interface BottleSpecNotify {
  /** An http(s) webhook URL. It is never logged, only its host. */
  url: string
}

/** A route an agent asked for, waiting for a human decision. */
export interface Proposal {
  apiVersion: "bottle.dev/v1alpha1"
  kind: "Proposal"
  metadata: ProposalMetadata
  spec: ProposalSpec
  status?: ProposalStatus
}

export interface ProposalMetadata {
  name: string
  creationTimestamp?: string
}

export interface ProposalSpec {
  agent: string
  bottle: string
  /** The route asked for. A proposal can never carry a token or a private-address allowance. */
  route: ProposalSpecRoute
  reason: string
  /** agent (default): the agent asked through supervise. denial: a draft the controller wrote because the agent was refused this host repeatedly. */
  source?: "agent" | "denial"
  /** For a draft (source denial): the no-route refusals it aggregates. Paths carry no query string and nothing shaped like a secret. */
  denials?: ProposalSpecDenials
}

/** The route asked for. A proposal can never carry a token or a private-address allowance. */
export interface ProposalSpecRoute {
  host: string
  paths?: string[]
}

/** For a draft (source denial): the no-route refusals it aggregates. Paths carry no query string and nothing shaped like a secret. */
export interface ProposalSpecDenials {
  count: number
  firstSeen: string
  lastSeen: string
  samplePaths?: string[]
}

export interface ProposalStatus {
  phase?: "Pending" | "Approved" | "Rejected"
  message?: string
  decidedAt?: string
}
