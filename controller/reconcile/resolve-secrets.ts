import { readFile, stat } from 'node:fs/promises'
import { expandHome } from '../spec/check-rules.js'
import { describeRef, isHostLogin, type SecretRequirement } from '../plan/secret-slots.js'
import { readCodexHostCredentials, type CodexHostCredentials } from './codex-host-credentials.js'

export interface SecretProblem {
  slot: string
  /** One line naming the reference, never the value: "env:GH_TOKEN is not set in the controller's environment". */
  message: string
}

export interface ResolvedSecrets {
  values: Map<string, string>
  problems: SecretProblem[]
  /** The host's Codex login, when a requirement named it: its placeholder auth.json goes to the agent. */
  codexLogin?: CodexHostCredentials
}

/**
 * Reads the secrets a config needs from where their references point: the
 * controller's environment, or a file outside the spec repo that only its
 * owner can read. Values go nowhere but the returned map.
 */
export async function resolveSecrets(requirements: readonly SecretRequirement[], env: NodeJS.ProcessEnv = process.env): Promise<ResolvedSecrets> {
  const values = new Map<string, string>()
  const problems: SecretProblem[] = []
  let codexLogin: CodexHostCredentials | undefined
  for (const { slot, ref, purpose } of requirements) {
    if (values.has(slot)) continue
    const name = describeRef(ref)
    if (isHostLogin(ref)) {
      // Codex is the one CLI whose host login can be forwarded (its hostLogin in the provider table).
      try {
        codexLogin = readCodexHostCredentials(env)
        values.set(slot, codexLogin.accessToken)
      } catch (err) {
        problems.push({ slot, message: `${(err as Error).message} (for ${purpose})` })
      }
      continue
    }
    if (ref.env !== undefined) {
      const value = env[ref.env]
      if (value === undefined || value === '') problems.push({ slot, message: `${name} (for ${purpose}) is not set in the controller's environment` })
      else values.set(slot, value)
      continue
    }
    const path = expandHome(ref.file ?? '')
    try {
      const info = await stat(path)
      if ((info.mode & 0o077) !== 0) {
        problems.push({ slot, message: `${name} (for ${purpose}) is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it` })
        continue
      }
      const value = (await readFile(path, 'utf8')).trim()
      if (value === '') problems.push({ slot, message: `${name} (for ${purpose}) is empty` })
      else values.set(slot, value)
    } catch (err) {
      problems.push({ slot, message: `${name} (for ${purpose}) cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` })
    }
  }
  return { values, problems, ...(codexLogin ? { codexLogin } : {}) }
}
