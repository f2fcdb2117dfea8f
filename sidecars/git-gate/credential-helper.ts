/**
 * The credential helper git runs when an https upstream asks for a login
 * (`credential.helper` in the gate's global config points at the script in
 * .bin/, see hook-scripts.ts). It answers `get` for exactly one host: the
 * upstream of the remote named in BOTTLE_GIT_GATE_REMOTE, which the gate sets
 * only on git processes that talk to that upstream. The token is read from
 * secrets.json at that moment and written to git over the pipe; it is never
 * in an argument, a URL, an environment variable or a log. A request for any
 * other host or protocol (a redirect elsewhere) gets nothing, and git fails
 * without prompting. `store` and `erase` are ignored: nothing is cached.
 */
import { ENV } from './git-environment.js'
import { loadGateFolder } from './load-config.js'

/** Parse git's credential request: `key=value` lines up to a blank line. */
export function parseCredentialRequest(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') break
    const equals = line.indexOf('=')
    if (equals > 0) fields.set(line.slice(0, equals), line.slice(equals + 1))
  }
  return fields
}

/** What to write back to git: the login lines, or nothing. */
export async function answerCredentialRequest(operation: string | undefined, request: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (operation !== 'get') return ''
  const configDir = env[ENV.configDir]
  const remoteName = env[ENV.remote]
  if (!configDir || !remoteName) return ''
  const loaded = await loadGateFolder(configDir)
  if (!loaded.ok) return ''
  const remote = loaded.loaded.remotes.get(remoteName)
  if (!remote || remote.upstream.protocol !== 'https' || remote.config.tokenSlot === undefined) return ''
  const fields = parseCredentialRequest(request)
  if (fields.get('protocol') !== 'https') return ''
  if ((fields.get('host') ?? '').toLowerCase() !== remote.upstream.credentialHost) return ''
  const token = loaded.loaded.secrets.get(remote.config.tokenSlot)
  if (token === undefined) return ''
  return `username=${remote.config.tokenUsername}\npassword=${token}\n`
}
