/**
 * How a smolvm box reaches its bundle, decided in this one place.
 *
 * - `loopback`: the bundle host publishes the bundle's ports on the Agent's
 *   own loopback address (127.0.0.16 and up, see ../loopback-addresses.ts)
 *   and the box's allowlist names that address. Needed where the engine's
 *   bridge addresses are not reachable from this host: Docker Desktop on
 *   macOS keeps them inside its own VM. The default on macOS.
 * - `bridge`: the box dials the bundle container's address on its egress
 *   network, as a native engine on Linux routes it. The default elsewhere,
 *   where it opens nothing on the host.
 *
 * `BOTTLE_SMOLVM_BUNDLE_REACH=loopback|bridge` overrides the default.
 */
export type BundleReach = 'loopback' | 'bridge'

export const BUNDLE_REACH_ENV = 'BOTTLE_SMOLVM_BUNDLE_REACH'

/**
 * The reach this host uses, or what is wrong with the setting: a bad value
 * makes the smolvm runtime unavailable (its Agents say why), never every
 * command of the controller.
 */
export function smolvmBundleReach(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>): { reach: BundleReach } | { problem: string } {
  const configured = env[BUNDLE_REACH_ENV]
  if (configured === undefined || configured === '') return { reach: platform === 'darwin' ? 'loopback' : 'bridge' }
  if (configured === 'loopback' || configured === 'bridge') return { reach: configured }
  return { problem: `${BUNDLE_REACH_ENV} must be "loopback" or "bridge", not "${configured}"` }
}
