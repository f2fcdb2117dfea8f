/**
 * Context rules for secrets of no particular provider: a high-entropy value
 * under a secret-sounding name, credentials in a URL, and credentials on a
 * curl command line. Formats as facts from gitleaks' default config at
 * commit b58d3f1 (MIT, see LICENSE-gitleaks): its generic-api-key names and
 * allowlist, and its curl rules.
 */
import { charClasses, shannonEntropy } from '../entropy.js'
import type { CredentialPattern } from '../types.js'
import { ASSIGN, randomEnough } from './shared.js'

const DOTTED_REFERENCE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/
const PATH_LIKE = /^(?:\/|\.\.?\/|~\/)|:\/\//
/** `my-secret-name-2`, `application/octet-stream`: separator-joined parts that are each all letters or all digits. */
const WORDS = /^[A-Za-z]+(?:[-_./](?:[A-Za-z]+[0-9]*|[0-9]+))+$/

/**
 * What a hand-assigned secret looks like, as opposed to code, a reference or
 * prose: 8+ characters, letters mixed with digits or symbols, and entropy
 * close to the maximum its length allows. (Placeholders are the matcher's
 * business, for every rule.)
 */
function looksLikeAssignedSecret(value: string): boolean {
  if (value.length < 8) return false
  if (DOTTED_REFERENCE.test(value) || PATH_LIKE.test(value) || WORDS.test(value)) return false
  const c = charClasses(value)
  const letters = c.lower + c.upper
  if (letters === 0 || c.digit + c.other === 0) return false
  return shannonEntropy(value) >= Math.min(3, Math.log2(value.length) - 0.5)
}

/** `api_key`, `accessToken`, `client-secret`...: compound names under which a secret is assigned. */
const ASSIGNED_NAME_PARTS: readonly (readonly [readonly string[], readonly string[]])[] = [
  [['api', 'access', 'private', 'client', 'session'], ['key']],
  [['auth', 'access', 'api', 'bearer', 'refresh', 'private', 'session', 'client'], ['token']],
]
const NAME_SEPARATORS = ['', '_', '-', '.']
const ASSIGNED_NAME_FORMS = ASSIGNED_NAME_PARTS.map(([firsts, lasts]) => String.raw`(?:${firsts.join('|')})[_.-]?(?:${lasts.join('|')})`)
/** Every spelling of the compound names, so the prefilter need not fire on every bare "key". */
const ASSIGNED_NAME_KEYWORDS = ASSIGNED_NAME_PARTS.flatMap(([firsts, lasts]) => firsts.flatMap((f) => lasts.flatMap((l) => NAME_SEPARATORS.map((sep) => `${f}${sep}${l}`))))
/**
 * A bare `token` (`GITHUB_TOKEN=`, `"token":`), except the tokens that are
 * cursors and nonces rather than credentials: pagination (`nextPageToken`,
 * AWS `NextToken`), CSRF, idempotency and cancellation tokens.
 */
const BARE_TOKEN = String.raw`(?<!(?:page|next|continuation|continue|sync|resume|cursor|pagination|csrf|xsrf|cancellation|idempotency|public)[_.-]?)token`
/**
 * The names, each matching all it can: `pass` never stops short of a
 * `word` that follows, so the check after the name below cannot be
 * dodged by backtracking to a shorter name (`pass` of `password_file`).
 */
const SECRET_NAMES = String.raw`(?:pass(?:word|wd|phrase|(?!word|wd|phrase))|secret|credentials|credential(?!s)|creds|${ASSIGNED_NAME_FORMS.join('|')}|${BARE_TOKEN})`
/** Names that say the value is about the secret, not the secret (gitleaks' generic allowlist): `secretName`, `password_file`, `token_url`, `api_key_id`. */
const NOT_THE_SECRET = String.raw`(?![_.-]?(?:names?|ids?|refs?|arn|length|size|type|version|file|path|ur[il]|endpoint)(?![a-z]))`

/**
 * curl, then up to 256 characters before the option, never across another
 * `curl `, so attempts do not overlap. The command is followed by a space,
 * which keys the rule on `curl ` rather than on every "curl" of a text.
 */
const CURL_GAP = String.raw`(?<![A-Za-z0-9_])curl(?= )(?:(?!curl )[\s\S]){0,256}?[ \t]`

/** gitleaks' curl placeholders (`user:pass`; `$PASS` and the like the matcher drops for every rule) and its entropy floor. */
function curlCredential(value: string): boolean {
  return !/^pass$/i.test(value) && randomEnough(value, 2)
}

export const GENERIC_PATTERNS: readonly CredentialPattern[] = [
  {
    // One rule for both of gitleaks' curl rules: they share the costly part, the walk from `curl ` to the option.
    id: 'curl-auth',
    description: 'Credential on a curl command line (an Authorization, API key or token header, or -u user:password)',
    pattern: new RegExp(
      String.raw`${CURL_GAP}(?:(?:-H|--header)(?:=|[ \t]{0,5})["'](?:authorization:[ \t]{0,5}(?:basic[ \t]([a-z0-9+/]{8}[a-z0-9+/]*={0,3})|(?:bearer|(?:api-)?token)[ \t]([\w=~@.+/-]{8}[\w=~@.+/-]*)|([\w=~@.+/-]{8}[\w=~@.+/-]*))|(?:x-(?:[a-z]+-)?)?(?:api-?)?(?:key|token):[ \t]{0,5}([\w=~@.+/-]{8}[\w=~@.+/-]*))(?=["'])|(?:-u|--user)(?:=|[ \t]{0,5})(?:"[^"\s:]{1,128}:([^"\r\n]{3,128})"|'[^'\s:]{1,128}:([^'\r\n]{3,128})'|[\w$@.-]{1,128}:([\w\${}@.-]{3,128})(?!\S)))`,
      'gi',
    ),
    keywords: ['curl '],
    verify: curlCredential,
  },
  {
    id: 'generic-secret-assignment',
    description: 'High-entropy value assigned to a password, secret, key or token name',
    pattern: new RegExp(
      String.raw`${SECRET_NAMES}${NOT_THE_SECRET}[A-Za-z0-9_.-]{0,24}${ASSIGN}([^\s"'\x60,;&<>{}()[\]\\]{8,256})`,
      'gi',
    ),
    keywords: ['pass', 'secret', 'credential', 'creds', 'token', ...ASSIGNED_NAME_KEYWORDS],
    // The regex opens with exactly the keyword alternation; prose says "pass" often, so try it only there.
    startsWithKeyword: true,
    verify: looksLikeAssignedSecret,
  },
  {
    id: 'url-basic-auth',
    description: 'Credentials in a URL (scheme://user:password@host)',
    pattern: /:\/\/(?:[^\s/?#@:"'<>\\]{1,128}):([^\s/?#@"'<>\\]{1,256})@(?=[A-Za-z0-9[])/g,
    keywords: ['://'],
    startsWithKeyword: true,
  },
]
