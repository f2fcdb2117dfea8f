/**
 * Credential formats the engine knows by shape. The spec loader rejects any
 * spec value these match ("secrets must be references"), and the proxy and
 * git gate block them, so every rule leans towards precision: a checksum or
 * a structural check where the format has one, word boundaries everywhere,
 * and context rules (`password=...`, `user:pass@host`) that ignore
 * placeholders and low-entropy values.
 *
 * Rule ids are stable kebab-case names: callers log and match on them.
 */
import { Buffer } from 'node:buffer'
import { hasBase62Crc32Tail, isValidBech32 } from './checksums.js'
import { compileCredentialMatcher } from './credential-matcher.js'
import { charClasses, shannonEntropy } from './entropy.js'
import { isPlaceholderValue, isTemplateOrMask } from './placeholder-values.js'
import type { CredentialMatch, CredentialPattern } from './types.js'

function hasUpperLowerDigit(value: string): boolean {
  const c = charClasses(value)
  return c.upper > 0 && c.lower > 0 && c.digit > 0
}

function hasUpperAndLower(value: string): boolean {
  const c = charClasses(value)
  return c.upper > 0 && c.lower > 0
}

/** GitHub reserves up to 255 characters; only the 36-character body has a published checksum. */
function githubClassicToken(token: string): boolean {
  const body = token.slice(4)
  return body.length === 36 ? hasBase62Crc32Tail(body) : true
}

function decodeBase64UrlJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A JWS: base64url JSON header naming an `alg`, and a base64url JSON object payload. */
function jwtStructure(token: string): boolean {
  const [header, payload] = token.split('.')
  if (header === undefined || payload === undefined) return false
  const h = decodeBase64UrlJson(header)
  return isJsonObject(h) && typeof h['alg'] === 'string' && isJsonObject(decodeBase64UrlJson(payload))
}

/** Discord bot tokens start with the base64 of the bot's numeric snowflake id. */
function discordSnowflake(token: string): boolean {
  const first = token.slice(0, token.indexOf('.'))
  return /^\d{17,20}$/.test(Buffer.from(first, 'base64url').toString('latin1'))
}

/** PyPI tokens are macaroons whose location field names the index. */
function pypiMacaroon(token: string): boolean {
  return Buffer.from(token.slice(5, 5 + 32), 'base64url').toString('latin1').includes('pypi.org')
}

function randomEnough(value: string, minBits: number): boolean {
  return shannonEntropy(value) >= minBits
}

const DOTTED_REFERENCE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/
const PATH_LIKE = /^(?:\/|\.\.?\/|~\/)|:\/\//
/** `my-secret-name-2`: separator-joined parts that are each all letters or all digits. */
const WORDS = /^[A-Za-z]+(?:[-_.](?:[A-Za-z]+[0-9]*|[0-9]+))+$/

/**
 * What a hand-assigned secret looks like, as opposed to code, a reference or
 * prose: 8+ characters, letters mixed with digits or symbols, and entropy
 * close to the maximum its length allows.
 */
function looksLikeAssignedSecret(value: string): boolean {
  if (value.length < 8) return false
  if (isPlaceholderValue(value) || DOTTED_REFERENCE.test(value) || PATH_LIKE.test(value) || WORDS.test(value)) return false
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
/** Every spelling of the compound names, so the prefilter need not fire on every bare "key" or "token". */
const ASSIGNED_NAME_KEYWORDS = ASSIGNED_NAME_PARTS.flatMap(([firsts, lasts]) => firsts.flatMap((f) => lasts.flatMap((l) => NAME_SEPARATORS.map((sep) => `${f}${sep}${l}`))))

/** An assignment operator with optional quotes around the key's end and the value's start. */
const ASSIGN = String.raw`["']?[ \t]*(?::=|=>|[:=])[ \t]*["'\x60]?`

export const CREDENTIAL_PATTERNS: readonly CredentialPattern[] = [
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id',
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z2-7]{16}(?![A-Za-z0-9])/g,
    keywords: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AGPA', 'AIDA', 'AIPA', 'ANPA', 'ANVA', 'AROA', 'APKA', 'ASCA'],
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key',
    pattern: new RegExp(String.raw`(?:aws[A-Za-z0-9_.-]{0,24}?secret|secret_?access_?key)[A-Za-z0-9_.-]{0,24}${ASSIGN}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`, 'gi'),
    keywords: ['secret'],
    verify: (v) => hasUpperAndLower(v) && randomEnough(v, 4),
  },
  {
    id: 'github-pat',
    description: 'GitHub personal access token (classic)',
    pattern: /(?<![A-Za-z0-9])ghp_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])/g,
    keywords: ['ghp_'],
    verify: githubClassicToken,
  },
  {
    id: 'github-oauth-token',
    description: 'GitHub OAuth access token',
    pattern: /(?<![A-Za-z0-9])gho_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])/g,
    keywords: ['gho_'],
    verify: githubClassicToken,
  },
  {
    id: 'github-user-token',
    description: 'GitHub App user-to-server token',
    pattern: /(?<![A-Za-z0-9])ghu_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])/g,
    keywords: ['ghu_'],
    verify: githubClassicToken,
  },
  {
    id: 'github-server-token',
    description: 'GitHub App installation (server-to-server) token',
    pattern: /(?<![A-Za-z0-9])ghs_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])/g,
    keywords: ['ghs_'],
    verify: githubClassicToken,
  },
  {
    id: 'github-refresh-token',
    description: 'GitHub App refresh token',
    pattern: /(?<![A-Za-z0-9])ghr_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])/g,
    keywords: ['ghr_'],
    verify: githubClassicToken,
  },
  {
    // No public checksum spec for this format: matched by its exact structure.
    id: 'github-fine-grained-pat',
    description: 'GitHub fine-grained personal access token',
    pattern: /(?<![A-Za-z0-9])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9])/g,
    keywords: ['github_pat_'],
  },
  {
    id: 'gitlab-pat',
    description: 'GitLab personal access token',
    pattern: /(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{2,}){0,2}(?![A-Za-z0-9_.-])/g,
    keywords: ['glpat-'],
  },
  {
    id: 'gitlab-token',
    description: 'GitLab deploy, runner, trigger, OAuth or feed token',
    pattern: /(?<![A-Za-z0-9])(?:(?:gldt|glrt|glptt|glsoat|glcbt|glffct|glimt|glagent|gloas|glft)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{2,}){0,2}|GR1348941[A-Za-z0-9_-]{20})(?![A-Za-z0-9_.-])/g,
    keywords: ['gldt-', 'glrt-', 'glptt-', 'glsoat-', 'glcbt-', 'glffct-', 'glimt-', 'glagent-', 'gloas-', 'glft-', 'GR1348941'],
  },
  {
    id: 'anthropic-api-key',
    description: 'Anthropic API key',
    pattern: /(?<![A-Za-z0-9])sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])/g,
    keywords: ['sk-ant-'],
  },
  {
    // Legacy and project keys carry "T3BlbkFJ" (base64 of "OpenAI"); project, service-account and admin keys also have a prefix.
    id: 'openai-api-key',
    description: 'OpenAI API key',
    pattern: /(?<![A-Za-z0-9])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,})(?![A-Za-z0-9_-])/g,
    keywords: ['T3BlbkFJ', 'sk-proj-', 'sk-svcacct-', 'sk-admin-'],
    verify: (v) => v.includes('T3BlbkFJ') || hasUpperLowerDigit(v),
  },
  {
    id: 'openrouter-api-key',
    description: 'OpenRouter API key',
    pattern: /(?<![A-Za-z0-9])sk-or-v1-[a-f0-9]{64}(?![A-Za-z0-9])/g,
    keywords: ['sk-or-v1-'],
  },
  {
    id: 'groq-api-key',
    description: 'Groq API key',
    pattern: /(?<![A-Za-z0-9])gsk_[A-Za-z0-9]{52}(?![A-Za-z0-9])/g,
    keywords: ['gsk_'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'xai-api-key',
    description: 'xAI API key',
    pattern: /(?<![A-Za-z0-9])xai-[A-Za-z0-9]{80}(?![A-Za-z0-9])/g,
    keywords: ['xai-'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'perplexity-api-key',
    description: 'Perplexity API key',
    pattern: /(?<![A-Za-z0-9])pplx-[A-Za-z0-9]{48}(?![A-Za-z0-9])/g,
    keywords: ['pplx-'],
    verify: (v) => randomEnough(v.slice(5), 4),
  },
  {
    id: 'replicate-api-token',
    description: 'Replicate API token',
    pattern: /(?<![A-Za-z0-9])r8_[A-Za-z0-9]{37}(?![A-Za-z0-9])/g,
    keywords: ['r8_'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'slack-bot-token',
    description: 'Slack bot token',
    pattern: /(?<![A-Za-z0-9])xoxb-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{20,32}(?![A-Za-z0-9])/g,
    keywords: ['xoxb-'],
  },
  {
    id: 'slack-user-token',
    description: 'Slack user token',
    pattern: /(?<![A-Za-z0-9])xoxp-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[a-f0-9]{32}(?![A-Za-z0-9])/g,
    keywords: ['xoxp-'],
  },
  {
    id: 'slack-app-token',
    description: 'Slack app-level token',
    pattern: /(?<![A-Za-z0-9])xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,14}-[a-f0-9]{32,80}(?![A-Za-z0-9])/g,
    keywords: ['xapp-'],
  },
  {
    id: 'slack-token',
    description: 'Slack legacy, workspace, configuration or refresh token',
    pattern: /(?<![A-Za-z0-9])(?:xox[aors]-(?:[0-9]+-)+[A-Za-z0-9]{10,}|xoxe\.xox[bp]-1-[A-Za-z0-9]{60,}|xoxe-1-[A-Za-z0-9-]{60,})(?![A-Za-z0-9])/g,
    keywords: ['xoxa-', 'xoxo-', 'xoxr-', 'xoxs-', 'xoxe'],
  },
  {
    id: 'slack-webhook',
    description: 'Slack incoming webhook URL',
    pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/T[A-Z0-9]{6,}\/[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g,
    keywords: ['hooks.slack.com'],
  },
  {
    id: 'stripe-secret-key',
    description: 'Stripe secret key',
    pattern: /(?<![A-Za-z0-9])sk_(?:live|test)_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])/g,
    keywords: ['sk_live_', 'sk_test_'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'stripe-restricted-key',
    description: 'Stripe restricted key',
    pattern: /(?<![A-Za-z0-9])rk_(?:live|test)_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])/g,
    keywords: ['rk_live_', 'rk_test_'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'stripe-webhook-secret',
    description: 'Stripe webhook signing secret',
    pattern: /(?<![A-Za-z0-9])whsec_[A-Za-z0-9+/]{32,}(?![A-Za-z0-9+/])/g,
    keywords: ['whsec_'],
    verify: (v) => randomEnough(v.slice(6), 4),
  },
  {
    // A header alone (in docs, in a parser) is not a key: some key material must follow.
    id: 'private-key',
    description: 'Private key block (RSA, EC, DSA, OpenSSH, PGP, PKCS#8, encrypted)',
    pattern: /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,400}?[A-Za-z0-9+/]{40}/g,
    keywords: ['PRIVATE KEY'],
  },
  {
    id: 'putty-private-key',
    description: 'PuTTY private key file',
    pattern: /PuTTY-User-Key-File-[23]: *[a-z0-9-]+/g,
    keywords: ['PuTTY-User-Key-File-'],
  },
  {
    id: 'age-secret-key',
    description: 'age encryption secret key',
    pattern: /AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Za-z0-9])/g,
    keywords: ['AGE-SECRET-KEY-1'],
    verify: isValidBech32,
  },
  {
    id: 'google-api-key',
    description: 'Google API key',
    pattern: /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
    keywords: ['AIza'],
  },
  {
    id: 'google-oauth-client-secret',
    description: 'Google OAuth client secret',
    pattern: /(?<![A-Za-z0-9])GOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])/g,
    keywords: ['GOCSPX-'],
  },
  {
    id: 'google-oauth-refresh-token',
    description: 'Google OAuth refresh token',
    pattern: /(?<![A-Za-z0-9/])1\/\/0[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])/g,
    keywords: ['1//0'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'google-oauth-access-token',
    description: 'Google OAuth access token',
    pattern: /(?<![A-Za-z0-9])ya29\.[A-Za-z0-9_-]{30,}(?![A-Za-z0-9_-])/g,
    keywords: ['ya29.'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'npm-token',
    description: 'npm access token',
    pattern: /(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
    keywords: ['npm_'],
    verify: (v) => hasBase62Crc32Tail(v.slice(4)),
  },
  {
    id: 'pypi-token',
    description: 'PyPI API token',
    pattern: /(?<![A-Za-z0-9])pypi-AgE[A-Za-z0-9_-]{50,}(?![A-Za-z0-9_-])/g,
    keywords: ['pypi-AgE'],
    verify: pypiMacaroon,
  },
  {
    id: 'twilio-api-key',
    description: 'Twilio API key',
    pattern: /(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])/g,
    keywords: ['SK'],
    verify: (v) => randomEnough(v.slice(2), 3),
  },
  {
    id: 'sendgrid-api-key',
    description: 'SendGrid API key',
    pattern: /(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    keywords: ['SG.'],
  },
  {
    id: 'mailgun-api-key',
    description: 'Mailgun API key',
    pattern: /(?<![A-Za-z0-9])key-[0-9a-f]{32}(?![A-Za-z0-9])/g,
    keywords: ['key-'],
    verify: (v) => randomEnough(v.slice(4), 3),
  },
  {
    id: 'mailchimp-api-key',
    description: 'Mailchimp API key',
    // Literal first so the regex engine can skip to `-us`; the key itself is checked behind it.
    pattern: /-us[0-9]{1,2}(?![A-Za-z0-9])(?<=(?<![A-Za-z0-9])([0-9a-f]{32})-us[0-9]{1,2})/g,
    keywords: ['-us'],
    verify: (v) => randomEnough(v, 3),
  },
  {
    id: 'discord-bot-token',
    description: 'Discord bot token',
    pattern: /(?<![A-Za-z0-9_-])[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![A-Za-z0-9_-])/g,
    // No literal to key on; its first part is a run of 24+ token characters, which prose and most code lack.
    requiresRun: { chars: /[A-Za-z0-9_-]/, length: 24 },
    verify: discordSnowflake,
  },
  {
    id: 'discord-webhook',
    description: 'Discord webhook URL',
    pattern: /discord(?:app)?\.com\/api\/webhooks\/[0-9]{17,20}\/[A-Za-z0-9_-]{60,68}/g,
    keywords: ['discord'],
  },
  {
    id: 'telegram-bot-token',
    description: 'Telegram bot token',
    pattern: /(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
    keywords: [':AA'],
  },
  {
    id: 'shopify-token',
    description: 'Shopify access token, custom app token or shared secret',
    pattern: /(?<![A-Za-z0-9])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])/g,
    keywords: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
  },
  {
    id: 'square-access-token',
    description: 'Square access token',
    pattern: /(?<![A-Za-z0-9])(?:EAAA[A-Za-z0-9_-]{60}|sq0atp-[A-Za-z0-9_-]{22})(?![A-Za-z0-9_-])/g,
    keywords: ['EAAA', 'sq0atp-'],
    verify: hasUpperAndLower,
  },
  {
    id: 'square-oauth-secret',
    description: 'Square OAuth application secret',
    pattern: /(?<![A-Za-z0-9])sq0csp-[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    keywords: ['sq0csp-'],
  },
  {
    id: 'azure-storage-account-key',
    description: 'Azure storage account key in a connection string',
    pattern: /AccountKey=([A-Za-z0-9+/]{86}==)/gi,
    keywords: ['AccountKey='],
  },
  {
    id: 'azure-shared-access-key',
    description: 'Azure Service Bus / Event Hubs shared access key',
    pattern: /SharedAccessKey=([A-Za-z0-9+/]{43}=)/gi,
    keywords: ['SharedAccessKey='],
  },
  {
    id: 'azure-sas-token',
    description: 'Azure shared access signature',
    pattern: /sv=[0-9]{4}-[0-9]{2}-[0-9]{2}[^\s"'<>]{0,400}?[?&]sig=([A-Za-z0-9%+/]{40,}(?:%3[Dd]|=){0,2})/g,
    keywords: ['sig='],
  },
  {
    id: 'azure-ad-client-secret',
    description: 'Microsoft Entra ID (Azure AD) client secret',
    pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/g,
    keywords: ['Q~'],
  },
  {
    id: 'digitalocean-token',
    description: 'DigitalOcean personal access, OAuth or refresh token',
    pattern: /(?<![A-Za-z0-9])do[opr]_v1_[a-f0-9]{64}(?![A-Za-z0-9])/g,
    keywords: ['dop_v1_', 'doo_v1_', 'dor_v1_'],
  },
  {
    id: 'heroku-api-key',
    description: 'Heroku API key',
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9])(HRKU-AA[A-Za-z0-9_-]{58})(?![A-Za-z0-9_-])|heroku[A-Za-z0-9_.-]{0,24}${ASSIGN}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9])`, 'gi'),
    keywords: ['HRKU-', 'heroku'],
  },
  {
    id: 'vault-token',
    description: 'HashiCorp Vault token',
    pattern: /(?<![A-Za-z0-9])hv[sbr]\.[A-Za-z0-9_-]{24,}(?![A-Za-z0-9_-])/g,
    keywords: ['hvs.', 'hvb.', 'hvr.'],
    verify: (v) => hasUpperAndLower(v.slice(4)),
  },
  {
    id: 'terraform-cloud-token',
    description: 'HashiCorp Terraform Cloud / Enterprise token',
    pattern: /(?<![A-Za-z0-9])[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}(?![A-Za-z0-9_=-])/g,
    keywords: ['.atlasv1.'],
  },
  {
    id: 'doppler-token',
    description: 'Doppler token',
    pattern: /(?<![A-Za-z0-9])dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}(?![A-Za-z0-9])/g,
    keywords: ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'],
  },
  {
    id: 'databricks-token',
    description: 'Databricks personal access token',
    pattern: /(?<![A-Za-z0-9])dapi[a-f0-9]{32}(?:-[0-9])?(?![A-Za-z0-9])/g,
    keywords: ['dapi'],
    verify: (v) => randomEnough(v.slice(4, 36), 3),
  },
  {
    id: 'atlassian-api-token',
    description: 'Atlassian API token',
    pattern: /(?<![A-Za-z0-9])ATATT3[A-Za-z0-9_=-]{150,}(?![A-Za-z0-9_=-])/g,
    keywords: ['ATATT3'],
  },
  {
    id: 'linear-api-key',
    description: 'Linear API key or OAuth token',
    pattern: /(?<![A-Za-z0-9])lin_(?:api_[A-Za-z0-9]{40}|oauth_[a-f0-9]{64})(?![A-Za-z0-9])/g,
    keywords: ['lin_api_', 'lin_oauth_'],
  },
  {
    id: 'huggingface-token',
    description: 'Hugging Face access token',
    pattern: /(?<![A-Za-z0-9])(?:hf_|api_org_)[A-Za-z]{34}(?![A-Za-z0-9])/g,
    keywords: ['hf_', 'api_org_'],
    verify: (v) => hasUpperAndLower(v.slice(v.length - 34)),
  },
  {
    id: 'pulumi-access-token',
    description: 'Pulumi access token',
    pattern: /(?<![A-Za-z0-9])pul-[a-f0-9]{40}(?![A-Za-z0-9])/g,
    keywords: ['pul-'],
  },
  {
    id: 'grafana-token',
    description: 'Grafana service account or Grafana Cloud token',
    pattern: /(?<![A-Za-z0-9])(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_eyJ[A-Za-z0-9+/=_-]{32,})(?![A-Za-z0-9+/=_-])/g,
    keywords: ['glsa_', 'glc_eyJ'],
  },
  {
    id: 'sentry-auth-token',
    description: 'Sentry auth token',
    pattern: /(?<![A-Za-z0-9])(?:sntrys_eyJ[A-Za-z0-9+/=_-]{50,}|sntryu_[a-f0-9]{64})(?![A-Za-z0-9+/=_-])/g,
    keywords: ['sntrys_', 'sntryu_'],
  },
  {
    id: 'postman-api-key',
    description: 'Postman API key',
    pattern: /(?<![A-Za-z0-9])PMAK-[a-f0-9]{24}-[a-f0-9]{34}(?![A-Za-z0-9])/g,
    keywords: ['PMAK-'],
  },
  {
    id: 'new-relic-api-key',
    description: 'New Relic user API key',
    pattern: /(?<![A-Za-z0-9])NRAK-[A-Z0-9]{27}(?![A-Za-z0-9])/g,
    keywords: ['NRAK-'],
  },
  {
    id: 'dynatrace-token',
    description: 'Dynatrace API token',
    pattern: /(?<![A-Za-z0-9])dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}(?![A-Za-z0-9])/g,
    keywords: ['dt0c01.'],
  },
  {
    id: 'supabase-token',
    description: 'Supabase personal access token',
    pattern: /(?<![A-Za-z0-9])sbp_[a-f0-9]{40}(?![A-Za-z0-9])/g,
    keywords: ['sbp_'],
  },
  {
    id: 'jwt',
    description: 'JSON Web Token',
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])/g,
    keywords: ['eyJ'],
    verify: jwtStructure,
  },
  {
    id: 'generic-secret-assignment',
    description: 'High-entropy value assigned to a password, secret, key or token name',
    pattern: new RegExp(String.raw`(?:pass(?:word|wd|phrase)?|secret|credentials?|${ASSIGNED_NAME_FORMS.join('|')})[A-Za-z0-9_.-]{0,24}${ASSIGN}([^\s"'\x60,;&<>{}()[\]\\]{8,256})`, 'gi'),
    keywords: ['pass', 'secret', 'credential', ...ASSIGNED_NAME_KEYWORDS],
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
    verify: (password) => !isTemplateOrMask(password),
  },
]

/** Every credential of a known format in `text`, with its offset and length (never its value). */
export const findCredentials: (text: string) => CredentialMatch[] = compileCredentialMatcher(CREDENTIAL_PATTERNS)
