/**
 * The container side of an Agent whose box is a VM (the vm and smolvm
 * runtimes): its bundle and networks, driven by a Docker driver of that
 * runtime's own owner, and the bundle's address as the host reaches it.
 */
import type { PartName, RuntimeDriver } from './driver.js'

export interface BundleHost extends RuntimeDriver {
  /** The part's address as this host dials it; undefined while it does not run. */
  hostReachableAddress(agent: string, part: PartName): Promise<string | undefined>
  /**
   * The loopback address the Agent's bundle is published on, known before
   * the bundle runs (see loopback-addresses.ts); undefined, or absent, for
   * a host that does not publish (its bundles are reached on the engine's
   * bridge addresses).
   */
  loopbackAddress?(agent: string): Promise<string | undefined>
}
