/**
 * What the gate removes from every message it relays to the agent: the
 * pre-receive hook's `remote:` lines (which quote upstream and ssh), HTTP
 * refusal bodies and info/refs error packets. Messages from git, ssh and the
 * upstream are not ours, so each passes through here on its way out.
 *
 * Removed:
 *   - every secret value of the gate (secrets.json: the https tokens), in
 *     each spelling an echo uses (sidecars/shared/secret-forms.ts), as
 *     `[redacted]`;
 *   - the credentials of any URL: `scheme://user:password@` for every scheme,
 *     and any user of an http(s) URL (forges take a token there), as
 *     `scheme://[redacted]@`;
 *   - where the gate keeps its upstream identity: each ssh identity file
 *     (`[identity file]`), each known_hosts file (`[known hosts]`) and the
 *     config folder that holds them (`[gate config]`). ssh names the key
 *     file in its diagnostics ("Load key ...", "Identity file ... not
 *     accessible"); the agent has no business knowing where the keys live.
 *
 * Kept: each remote's upstream URL and its ssh login user (`git@host`). The
 * agent's own ~/.gitconfig names both (the insteadOf lines that route the
 * upstream URL to the gate), so hiding them would protect nothing and would
 * leave the agent unable to tell which upstream failed.
 */
import { spellingsOf } from '../shared/secret-forms.js'
import type { GateRemote, LoadedGateConfig } from './load-config.js'

export type RelayRedactor = (text: string) => string

export interface RelaySecrets {
  secrets: Iterable<string>
  remotes?: Iterable<Pick<GateRemote, 'identityPath' | 'knownHostsPath'>>
  configDir?: string | undefined
}

const REDACTED = '[redacted]'
/** `scheme://userinfo@`: userinfo runs up to the first `@` before any `/`, whitespace or quote. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@'"<>]+)@/gi

export function createRelayRedactor(input: RelaySecrets): RelayRedactor {
  const replacements: Array<[string, string]> = []
  const needles = new Set<string>()
  for (const value of input.secrets) {
    // Short values too, as is: a message is not a body, and a stray match costs nothing here.
    if (value.length >= 4) needles.add(value)
    for (const spelling of spellingsOf(value)) needles.add(spelling.text)
  }
  for (const text of [...needles].sort((a, b) => b.length - a.length)) replacements.push([text, REDACTED])
  for (const remote of input.remotes ?? []) {
    if (remote.identityPath) replacements.push([remote.identityPath, '[identity file]'])
    if (remote.knownHostsPath) replacements.push([remote.knownHostsPath, '[known hosts]'])
  }
  const configDir = input.configDir?.replace(/\/+$/, '')
  if (configDir && configDir !== '') replacements.push([configDir, '[gate config]'])

  return (text) => {
    let out = text
    for (const [find, replace] of replacements) if (out.includes(find)) out = out.split(find).join(replace)
    return out.replace(URL_USERINFO, (whole, scheme: string, userinfo: string) => {
      const http = /^https?:\/\/$/i.test(scheme)
      return http || userinfo.includes(':') ? `${scheme}${REDACTED}@` : whole
    })
  }
}

const cache = new WeakMap<LoadedGateConfig, RelayRedactor>()

/** The redactor for a loaded config, built once per load. */
export function relayRedactorFor(loaded: LoadedGateConfig): RelayRedactor {
  let redactor = cache.get(loaded)
  if (!redactor) {
    redactor = createRelayRedactor({ secrets: loaded.secrets.values(), remotes: loaded.remotes.values(), configDir: loaded.configDir })
    cache.set(loaded, redactor)
  }
  return redactor
}
