/**
 * A route as the plan renders it into the egress config: what status files
 * report as applied, without the token value (only where it comes from).
 */

export interface AppliedRoute {
  host: string
  paths?: string[]
  tls: 'intercept' | 'passthrough'
  auth?: { scheme: string; tokenRef: string }
}
