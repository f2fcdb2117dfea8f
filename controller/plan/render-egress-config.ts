import type { EgressConfigInput } from '../../sidecars/egress/config.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import type { EffectiveRoute } from './effective-route.js'
import { canonicalHost } from '../spec/network-syntax.js'
import { agentProvider, PROVIDER_PLACEHOLDER } from './providers.js'
import { describeRef, slotFor, type SecretRequirement, type SecretSource } from './secret-slots.js'

/** The credential egress injects for the Agent's own CLI, and where; none when the Agent has no auth. */
export function providerCredential(agent: ResolvedAgent): { source: SecretSource; hosts: readonly string[] } | undefined {
  const provider = agentProvider(agent)
  if (agent.spec.auth?.tokenRef) return { source: agent.spec.auth.tokenRef, hosts: provider.apiHosts }
  if (agent.spec.auth?.forwardHostCredentials && provider.hostLogin) return { source: { hostLogin: provider.name }, hosts: provider.hostLogin.hosts }
  return undefined
}

export interface RenderedEgress {
  config: EgressConfigInput
  secrets: SecretRequirement[]
  /** The effective routes, for status (references, never values). */
  routes: EffectiveRoute[]
}

/**
 * The egress config for one Agent: the bottle's routes, plus the provider's
 * API host with the agent's own token when it has one. Pure.
 */
export function renderEgressConfig(agent: ResolvedAgent, options: { upstreamCaCerts?: readonly string[] } = {}): RenderedEgress {
  const egress = agent.bottle.spec.egress ?? {}
  const secrets: SecretRequirement[] = []
  const need = (ref: SecretSource | undefined, purpose: string): string | undefined => {
    if (!ref) return undefined
    const slot = slotFor(ref)
    if (!secrets.some((s) => s.slot === slot)) secrets.push({ slot, ref, purpose })
    return slot
  }

  const routes: NonNullable<EgressConfigInput['routes']> = []
  const applied: EffectiveRoute[] = []
  for (const route of egress.routes ?? []) {
    const slot = route.auth ? need(route.auth.tokenRef, `route ${route.host}`) : undefined
    const tls = route.tls ?? 'intercept'
    routes.push({
      host: route.host,
      tls,
      ...(route.paths ? { paths: route.paths } : {}),
      ...(route.auth && slot ? { auth: { scheme: route.auth.scheme, slot } } : {}),
      ...(route.upstream ? { upstream: route.upstream } : {}),
      ...(route.scan ? { scan: { body: route.scan.body ?? true } } : {}),
    })
    applied.push({ host: route.host, tls, ...(route.paths ? { paths: route.paths } : {}), ...(route.auth ? { auth: { scheme: route.auth.scheme, tokenRef: describeRef(route.auth.tokenRef) } } : {}) })
  }

  const placeholders: string[] = []
  const providerAuth = providerCredential(agent)
  if (providerAuth) {
    const slot = need(providerAuth.source, `provider ${agentProvider(agent).name}`)!
    placeholders.push(PROVIDER_PLACEHOLDER)
    for (const host of providerAuth.hosts) {
      const existing = routes.findIndex((r) => canonicalHost(r.host) === host)
      // The bottle's own route for the provider host wins when it already injects a credential.
      if (existing < 0) {
        routes.push({ host, tls: 'intercept', auth: { scheme: 'Bearer', slot } })
        applied.push({ host, tls: 'intercept', auth: { scheme: 'Bearer', tokenRef: describeRef(providerAuth.source) } })
      } else if (!routes[existing]!.auth && routes[existing]!.tls !== 'passthrough') {
        routes[existing] = { ...routes[existing]!, auth: { scheme: 'Bearer', slot } }
        applied[existing] = { ...applied[existing]!, auth: { scheme: 'Bearer', tokenRef: describeRef(providerAuth.source) } }
      }
    }
  }

  const config: EgressConfigInput = {
    version: 1,
    routes,
    dlp: { action: egress.dlp?.action ?? 'block' },
    allowPrivate: egress.allowPrivate ?? [],
    ...(egress.limits ? { limits: { ...egress.limits } } : {}),
    placeholders,
    ...(options.upstreamCaCerts?.length ? { upstreamCaCerts: [...options.upstreamCaCerts] } : {}),
  }
  return { config, secrets, routes: applied }
}
