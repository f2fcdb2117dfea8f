import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { homedir } from 'node:os'
import { canonicalPath } from '../../sidecars/egress/canonical-path.js'
import { effectiveProvider } from './effective-provider.js'
import type { SpecErrorCode } from './errors.js'
import { canonicalHost, isHostKey, parseCidr, parseGitUpstream } from './network-syntax.js'
import type { FieldPath } from './parse-documents.js'
import type { Agent, AgentSpec, Bottle, BottleSpec, TokenRef } from './generated/spec-types.js'

/** Rules the schema cannot express. Each report names a field path inside the object. */
export type Report = (code: SpecErrorCode, path: FieldPath, message: string, options?: { key?: boolean; hint?: string }) => void

export interface RuleContext {
  /** Absolute spec root (the watched folder). */
  root: string
  /** Absolute path of the file the object came from. */
  file: string
}

/** Expands `~/` the way a shell would, for paths the controller reads. */
export function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path
}

function insideRoot(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

function checkTokenRef(ref: TokenRef | undefined, path: FieldPath, ctx: RuleContext, report: Report): void {
  if (!ref?.file) return
  const file = expandHome(ref.file)
  if (!isAbsolute(file)) {
    report('bad-value', [...path, 'file'], 'must be an absolute path (or start with ~/) outside the spec folder')
  } else if (insideRoot(ctx.root, resolve(file))) {
    report('bad-value', [...path, 'file'], 'points inside the spec folder; secret files must live outside it so they are never committed')
  }
}

export function checkBottleRules(bottle: Bottle, ctx: RuleContext, report: Report): void {
  const spec = bottle.spec
  const routes = spec.egress?.routes ?? []
  const firstByHost = new Map<string, number>()
  routes.forEach((route, i) => {
    const at = ['spec', 'egress', 'routes', i] as const
    const host = canonicalHost(route.host)
    const first = firstByHost.get(host)
    if (first !== undefined) {
      report('duplicate-host', [...at, 'host'], `duplicate host "${route.host}" (also routes[${first}]); hosts are unique per bottle, case-insensitively`)
    } else {
      firstByHost.set(host, i)
    }
    if (route.tls === 'passthrough') {
      for (const field of ['paths', 'auth', 'scan'] as const) {
        if (route[field] !== undefined) {
          report('bad-value', [...at, field], `cannot be used with tls: passthrough (the proxy does not see inside a passthrough tunnel)`)
        }
      }
    }
    if (route.upstream !== undefined) {
      try {
        new URL(route.upstream)
      } catch {
        report('bad-value', [...at, 'upstream'], 'is not a valid URL')
      }
    }
    ;(route.paths ?? []).forEach((path, j) => {
      const canonical = canonicalPath(path)
      if (canonical !== path) report('bad-value', [...at, 'paths', j], `${JSON.stringify(path)} is not canonical; write it as ${JSON.stringify(canonical)} (origins read encoded separators, dot segments and ; parameters differently, so paths are compared in one canonical form)`)
    })
    checkTokenRef(route.auth?.tokenRef, [...at, 'auth', 'tokenRef'], ctx, report)
  })
  ;(spec.egress?.allowPrivate ?? []).forEach((cidr, i) => {
    if (!parseCidr(cidr)) report('bad-value', ['spec', 'egress', 'allowPrivate', i], `must be an IP address or CIDR such as 10.1.2.0/24, not ${JSON.stringify(cidr)}`)
  })

  const remotes = spec.git?.remotes ?? []
  const firstByName = new Map<string, number>()
  remotes.forEach((remote, i) => {
    const at = ['spec', 'git', 'remotes', i] as const
    const first = firstByName.get(remote.name)
    if (first !== undefined) report('duplicate-remote', [...at, 'name'], `duplicate remote name "${remote.name}" (also remotes[${first}]); each name is one repository on the gate`)
    else firstByName.set(remote.name, i)
    const upstream = parseGitUpstream(remote.upstream)
    if ('error' in upstream) {
      report('bad-value', [...at, 'upstream'], upstream.error)
      return
    }
    if (upstream.protocol === 'ssh') {
      if (!remote.identityFile) report('missing-key', at, 'an ssh upstream needs identityFile (the key the gate pushes with)')
      if (!remote.knownHostKey) report('missing-key', at, 'an ssh upstream needs knownHostKey (the host key is pinned, never learned on first use)')
      if (remote.tokenRef) report('bad-value', [...at, 'tokenRef'], 'is for https upstreams; ssh upstreams use identityFile')
    } else {
      if (remote.identityFile) report('bad-value', [...at, 'identityFile'], 'is for ssh upstreams; https upstreams use tokenRef')
      if (remote.knownHostKey) report('bad-value', [...at, 'knownHostKey'], 'is for ssh upstreams')
    }
    if (remote.knownHostKey && !isHostKey(remote.knownHostKey)) {
      report('bad-value', [...at, 'knownHostKey'], 'must be a public host key such as "ssh-ed25519 AAAAC3Nza..."')
    }
    if (remote.identityFile) {
      const file = expandHome(remote.identityFile)
      if (!isAbsolute(file)) report('bad-value', [...at, 'identityFile'], 'must be an absolute path (or start with ~/)')
      else if (insideRoot(ctx.root, resolve(file))) report('bad-value', [...at, 'identityFile'], 'points inside the spec folder; keys must live outside it so they are never committed')
    }
    checkTokenRef(remote.tokenRef, [...at, 'tokenRef'], ctx, report)
  })

  if (spec.image?.dockerfile !== undefined) {
    const dockerfile = resolve(dirname(ctx.file), spec.image.dockerfile)
    if (!insideRoot(ctx.root, dockerfile)) report('bad-value', ['spec', 'image', 'dockerfile'], 'must be inside the spec folder')
    else if (!existsSync(dockerfile)) report('missing-reference', ['spec', 'image', 'dockerfile'], `${relative(ctx.root, dockerfile)} does not exist`)
  }
}

export function checkAgentRules(agent: Agent, ctx: RuleContext, report: Report): void {
  const spec = agent.spec
  checkTokenRef(spec.auth?.tokenRef, ['spec', 'auth', 'tokenRef'], ctx, report)
  if (spec.auth?.forwardHostCredentials && spec.auth.tokenRef) {
    report('bad-value', ['spec', 'auth'], 'set either tokenRef or forwardHostCredentials, not both')
  }
  ;(spec.skills ?? []).forEach((skill, i) => {
    if (!existsSync(join(ctx.root, 'skills', skill))) report('missing-reference', ['spec', 'skills', i], `skills/${skill} does not exist in the spec folder`)
  })
}

/** Rules that need the Agent's Bottle (after extends): its provider may come from the Bottle's image. */
export function checkAgentInBottle(agent: AgentSpec, bottle: Pick<BottleSpec, 'image'>, report: Report): void {
  if (agent.auth?.forwardHostCredentials && effectiveProvider(agent, bottle) !== 'codex') {
    report('bad-value', ['spec', 'auth', 'forwardHostCredentials'], 'is only supported with provider: codex')
  }
}
