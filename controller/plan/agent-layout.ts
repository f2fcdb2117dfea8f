import { join } from 'node:path'
import { BUNDLE_HOST_FOLDERS, BUNDLE_MOUNTS } from '../../sidecars/shared/bundle-contract.js'

/**
 * Where the controller keeps one Agent's generated files on the host, and
 * where each folder appears inside the boxes. Folders, never single files,
 * are mounted: editors and atomic renames replace files, which a single-file
 * bind mount would not follow.
 */
export interface AgentLayout {
  /** `<state>/agents/<name>`: 0700, owned by the controller. */
  root: string
  /** Mounted read-only at /etc/bottle in the bundle: egress/, git-gate/, supervise/. */
  sidecarsConfig: string
  /** Mounted read-write at /var/lib/bottle in the bundle: what the daemons report back. */
  sidecarsState: string
  /** Mounted read-only at /etc/bottle/agent in the agent: the CA certificate, gitconfig. Nothing secret. */
  agentConfig: string
  /**
   * Mounted read-write at SESSIONS_DIR in the agent: the CLI's config,
   * transcripts and session state. Outlives recreates; archived, never
   * deleted, when the Agent goes.
   */
  sessions: string
  /** What the controller last applied, for `bottle diff` and for pruning decisions. */
  appliedRecord: string
}

export const IN_BUNDLE = BUNDLE_MOUNTS

export function agentLayout(stateDir: string, agent: string): AgentLayout {
  const root = join(stateDir, 'agents', agent)
  return {
    root,
    sidecarsConfig: join(root, BUNDLE_HOST_FOLDERS.config),
    sidecarsState: join(root, BUNDLE_HOST_FOLDERS.state),
    agentConfig: join(root, 'agent'),
    sessions: join(root, 'sessions'),
    appliedRecord: join(root, 'applied.json'),
  }
}
