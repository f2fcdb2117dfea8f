/**
 * How init starts each daemon's node process. The daemons of one bundle
 * share a container, usually on a small machine, and each is a
 * single-threaded server, so the settings trade parallelism it barely uses
 * for memory:
 * - `--v8-pool-size=2`: V8's helper threads (concurrent compilation and GC
 *   work) default to one per core; two keep that work off the main thread
 *   on the 2-core machines the sidecar is sized for.
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates its own
 *   malloc arena and keeps what those arenas once held resident.
 * Measured on the egress benchmark (peak RSS of the egress proxy, 8
 * scenarios, 2 runs): about 3 MB lower in every scenario, no change in CPU
 * per request beyond the noise.
 * An environment value init itself was given wins over the default here.
 */

/** Node options before the daemon's bundle on its command line. */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--v8-pool-size=2']

/** Environment defaults for every daemon. */
export const DAEMON_ENV_DEFAULTS: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' }

/** The argv after the node binary that starts the daemon bundle `file`. */
export function daemonArgv(file: string): string[] {
  return [...DAEMON_NODE_OPTIONS, file]
}

/** The environment of daemon `name`, from init's own. */
export function daemonEnv(name: string, initEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...DAEMON_ENV_DEFAULTS, ...initEnv, BOTTLE_DAEMON: name }
}
