import { existsSync, readFileSync } from 'node:fs'
import { chown, mkdir, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { AGENT_IMAGE_LAYOUT } from '../plan/agent-image-layout.js'
import { EGRESS_APPLIED_STATE_PATH, EGRESS_CA_CERT_PATH, EGRESS_CA_KEY_PATH, parseAppliedState, type EgressAppliedState } from '../../sidecars/shared/bundle-contract.js'
import { mintCertificateAuthority } from '../../sidecars/egress/certificates.js'
import type { AgentLayout } from '../plan/agent-layout.js'
import type { RenderedFile } from '../plan/rendered-file.js'
import { fileDigest, type ObservedFiles } from '../plan/plan-agent.js'
import { ensurePrivateDir, writeFileAtomic } from '../atomic-write.js'

/**
 * The controller's files for one Agent on the host: the CA, the rendered
 * configs, and a record of what was applied. Everything lives under one
 * 0700 folder; the CA key and secrets.json are 0600.
 */
export class AgentState {
  constructor(readonly layout: AgentLayout) {}

  async prepare(): Promise<void> {
    await ensurePrivateDir(this.layout.root)
    for (const dir of [this.layout.sidecarsConfig, this.layout.sidecarsState, dirname(join(this.layout.root, EGRESS_CA_KEY_PATH)), dirname(join(this.layout.root, EGRESS_APPLIED_STATE_PATH))]) {
      await ensurePrivateDir(dir)
    }
    // Nothing secret lives here, and the agent's entrypoint may not be the controller's uid.
    await mkdir(this.layout.agentConfig, { recursive: true, mode: 0o755 })
    await this.#ensureSessionsDir()
  }

  /** The agent user owns its sessions folder; a controller that is not root leaves that to the box's entrypoint. */
  async #ensureSessionsDir(): Promise<void> {
    if (existsSync(this.layout.sessions)) return
    await mkdir(this.layout.sessions, { recursive: true, mode: 0o700 })
    if (process.getuid?.() === 0) await chown(this.layout.sessions, AGENT_IMAGE_LAYOUT.uid, AGENT_IMAGE_LAYOUT.gid)
  }

  /** The Agent's CA certificate, minting the CA on first use. The key stays in the bundle's config folder. */
  async ensureCertificateAuthority(agent: string): Promise<string> {
    const certPath = join(this.layout.root, EGRESS_CA_CERT_PATH)
    const keyPath = join(this.layout.root, EGRESS_CA_KEY_PATH)
    try {
      if (!existsSync(keyPath)) throw new Error('no CA key')
      return readFileSync(certPath, 'utf8')
    } catch {
      await this.prepare()
      const ca = mintCertificateAuthority({ commonName: `bottle agent ${agent}` })
      await writeFileAtomic(keyPath, ca.keyPem, 0o600)
      await writeFileAtomic(certPath, ca.certPem, 0o644)
      return ca.certPem
    }
  }

  /**
   * What the generated files hold on disk now. Read synchronously: a handful
   * of small files, read on every reconcile, where the promise machinery of
   * fs/promises costs more than the reads.
   */
  async observeFiles(files: readonly RenderedFile[]): Promise<ObservedFiles> {
    const out = new Map<string, string>()
    for (const f of files) {
      try {
        out.set(f.path, fileDigest(readFileSync(join(this.layout.root, f.path), 'utf8')))
      } catch {
        // absent: the plan writes it
      }
    }
    return out
  }

  async writeFiles(files: readonly RenderedFile[]): Promise<void> {
    await this.prepare()
    for (const f of files) await writeFileAtomic(join(this.layout.root, f.path), f.content, f.mode)
  }

  async readApplied(): Promise<AppliedRecord | undefined> {
    try {
      return JSON.parse(readFileSync(this.layout.appliedRecord, 'utf8')) as AppliedRecord
    } catch {
      return undefined
    }
  }

  async writeApplied(record: AppliedRecord): Promise<void> {
    await this.prepare()
    await writeFileAtomic(this.layout.appliedRecord, JSON.stringify(record, null, 2) + '\n', 0o600)
  }

  /** What the bundle's egress daemon reports about the config it runs (sidecars/egress writes it). */
  async readEgressApplied(): Promise<EgressAppliedState | undefined> {
    try {
      return parseAppliedState(readFileSync(join(this.layout.root, EGRESS_APPLIED_STATE_PATH), 'utf8'))
    } catch {
      return undefined
    }
  }

  /**
   * Removes the Agent's files. Its transcripts and session state are moved
   * to `archiveDir` first (when there are any): deleting an Agent must not
   * silently lose its conversations. Returns where they went.
   */
  async remove(archiveDir: string): Promise<string | undefined> {
    let archived: string | undefined
    if (existsSync(this.layout.sessions) && !(await isEmptyDir(this.layout.sessions))) {
      await mkdir(dirname(archiveDir), { recursive: true, mode: 0o700 })
      await rename(this.layout.sessions, archiveDir)
      archived = archiveDir
    }
    await rm(this.layout.root, { recursive: true, force: true })
    return archived
  }
}

/** What the controller last applied for an Agent: enough to explain a diff and to decide about pruning. */
export interface AppliedRecord {
  agent: string
  specFile: string
  specHash: string
  appliedAt: string
  parts: Record<string, { hash: string; image: string; env: Record<string, string> }>
}

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0
  } catch {
    // Unreadable (owned by the agent's uid): assume there is something to keep.
    return false
  }
}
