/**
 * Keep-alive connections to origins, one pool per loaded config. A pooled
 * socket was checked against the config that opened it, so a new config gets
 * fresh pools; the old pools finish their in-flight requests and then close
 * their sockets instead of lending them out again.
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { LookupFunction } from 'node:net'
import type { SecureContext } from 'node:tls'
import { checkedLookup, type Resolve } from './dial.js'
import type { EgressPolicy } from './policy.js'

export interface UpstreamAgents {
  http: HttpAgent
  https: HttpsAgent
  /** Resolve-and-check lookup bound to this config's policy, for connections made outside the pools. */
  lookup: LookupFunction
  secureContext: SecureContext
}

export interface PoolKey {
  /** Increases with every loaded config; only a newer key retires the current pools. */
  generation: number
  policy: EgressPolicy
  upstreamTrust: SecureContext
}

export interface UpstreamPool {
  agentsFor(key: PoolKey): UpstreamAgents
  /** Close every pooled socket (shutdown). */
  destroy(): void
}

export function createUpstreamPool(resolve: Resolve): UpstreamPool {
  const pools = new WeakMap<PoolKey, UpstreamAgents>()
  let current: { key: PoolKey; agents: UpstreamAgents } | undefined

  const retired = new WeakSet<UpstreamAgents>()
  const retire = (agents: UpstreamAgents) => {
    if (retired.has(agents)) return
    retired.add(agents)
    for (const agent of [agents.http, agents.https]) {
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy()
      agent.on('free', (socket) => socket.destroy())
    }
  }

  return {
    agentsFor(key) {
      if (current?.key === key) return current.agents
      let agents = pools.get(key)
      if (!agents) {
        const lookup = checkedLookup(() => key.policy.checkAddress.bind(key.policy), resolve)
        const common = { keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' as const, lookup }
        agents = {
          http: new HttpAgent(common),
          https: new HttpsAgent({ ...common, secureContext: key.upstreamTrust, maxCachedSessions: 256 }),
          lookup,
          secureContext: key.upstreamTrust,
        }
        pools.set(key, agents)
      }
      if (!current || key.generation > current.key.generation) {
        if (current) retire(current.agents)
        current = { key, agents }
      } else {
        retire(agents) // a request that started under an older config: serve it, keep nothing
      }
      return agents
    },
    destroy() {
      if (!current) return
      current.agents.http.destroy()
      current.agents.https.destroy()
      current = undefined
    },
  }
}
