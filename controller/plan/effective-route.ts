/**
 * A route as the plan renders it into the egress config and status files
 * show it: the spec's routes plus the provider's, credentials named by where
 * they come from, never by value. (What egress reports it enforces is
 * EnforcedRoute, sidecars/shared/bundle-contract.ts.)
 */

export interface EffectiveRoute {
  host: string
  paths?: string[]
  tls: 'intercept' | 'passthrough'
  auth?: { scheme: string; tokenRef: string }
}
