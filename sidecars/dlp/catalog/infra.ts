/**
 * Secrets managers, infrastructure as code and deployment tooling: Vault,
 * Terraform Cloud, Doppler, Pulumi, 1Password, Infracost, Harness, Octopus
 * Deploy, Prefect, SettleMint, Defined Networking, Kubernetes secrets.
 * Formats as facts from gitleaks' default config at commit b58d3f1 (MIT, see
 * LICENSE-gitleaks).
 */
import type { CredentialPattern } from '../types.js'
import { entropyAtLeast, hasLetterAndDigit, hasUpperAndLower, looksRandom, providerAssignment, randomEnough } from './shared.js'

/**
 * A `data:` entry of a Secret manifest: an indented `name: <base64>` line,
 * after up to 20 other indented lines (so a template or an empty value
 * first does not hide the rest). A skipped line is one blank then anything,
 * never `[ \t]+[^\n]*`, whose many splits would make a failing attempt
 * exponential in the number of lines.
 */
const SECRET_DATA_ENTRY = String.raw`data:[ \t]{0,16}\r?\n(?:[ \t][^\n]{0,512}\n){0,20}?[ \t]{1,16}[\w.-]{1,253}:[ \t]{0,16}["']?([A-Za-z0-9+/]{10,4096}={0,3})["']?[ \t]{0,16}`
/** `kind: Secret`, where the rule's matches start (`kind:` is its keyword). */
const KIND_SECRET = String.raw`kind:[ \t]{0,16}["']?Secret\b`
/**
 * What a data-first manifest (kubectl sorts keys: `data:` comes before
 * `kind:`) holds before `kind:` at most: the data line, 20 skipped lines, the
 * entry, its value, and 20 lines after it, each bounded so that this is finite.
 */
const DATA_FIRST_LEAD = 1 + 5 + 16 + 2 + 20 * 514 + 16 + 253 + 1 + 16 + 1 + 4099 + 1 + 16 + 2 + 20 * 513

export const INFRA_PATTERNS: readonly CredentialPattern[] = [
  {
    // Legacy service tokens (`s.` + 24) are too short and plain to find alone: only under a Vault name.
    id: 'vault-token',
    description: 'HashiCorp Vault token',
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9_-])(hv[sbr]\.[A-Za-z0-9_-]{24}[A-Za-z0-9_-]*)(?![A-Za-z0-9_-])|${providerAssignment(['vault'], [{ value: String.raw`s\.[a-z0-9]{24}` }])}`, 'gi'),
    keywords: ['hvs.', 'hvb.', 'hvr.', 'vault'],
    verify: (v) => (/^hv[sbr]\./i.test(v) ? /^hv[sbr]\./.test(v) && hasUpperAndLower(v.slice(4)) : hasLetterAndDigit(v.slice(2)) && looksRandom(v.slice(2))),
  },
  {
    // 14 characters precede `.atlasv1.`.
    id: 'terraform-cloud-token',
    description: 'HashiCorp Terraform Cloud / Enterprise token',
    pattern: /(?<![A-Za-z0-9])[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}(?![A-Za-z0-9_=-])/g,
    keywords: ['.atlasv1.'],
    keywordLead: 14,
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'doppler-token',
    description: 'Doppler token',
    pattern: /(?<![A-Za-z0-9])dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}(?![A-Za-z0-9])/g,
    keywords: ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'],
  },
  {
    id: 'pulumi-access-token',
    description: 'Pulumi access token',
    pattern: /(?<![A-Za-z0-9])pul-[a-f0-9]{40}(?![A-Za-z0-9])/g,
    keywords: ['pul-'],
  },
  {
    id: '1password-secret-key',
    description: '1Password account secret key',
    pattern: /(?<![A-Za-z0-9])A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}(?![A-Za-z0-9])/g,
    keywords: ['A3-'],
    verify: (v) => looksRandom(v.slice(3)),
  },
  {
    id: '1password-service-account-token',
    description: '1Password service account token',
    pattern: /(?<![A-Za-z0-9+/])ops_eyJ[A-Za-z0-9+/]{250}[A-Za-z0-9+/]*={0,3}(?![A-Za-z0-9+/=])/g,
    keywords: ['_eyJ'],
    keywordLead: 3,
    verify: entropyAtLeast(4),
  },
  {
    id: 'infracost-api-token',
    description: 'Infracost API token',
    pattern: /(?<![A-Za-z0-9])ico-[A-Za-z0-9]{32}(?![A-Za-z0-9])/g,
    keywords: ['ico-'],
    verify: (v) => randomEnough(v.slice(4), 3),
  },
  {
    // `pat.` and `sat.` are in "compat." and "isat."; the token is one run of 72+ token characters and dots, which
    // is looked for by probing every 72nd character.
    id: 'harness-api-key',
    description: 'Harness personal or service account token',
    pattern: /(?<![A-Za-z0-9])(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}(?![A-Za-z0-9])/g,
    keywords: ['pat.', 'sat.'],
    requiresRun: { chars: /[A-Za-z0-9_.-]/, length: 72 },
    verify: entropyAtLeast(3.5),
  },
  {
    // A digit is required: 26 upper-case letters after `API-` are a constant's name more often than a key.
    id: 'octopus-deploy-api-key',
    description: 'Octopus Deploy API key',
    pattern: /(?<![A-Za-z0-9-])API-[A-Z0-9]{26}(?![A-Za-z0-9])/g,
    keywords: ['API-'],
    verify: (v) => hasLetterAndDigit(v.slice(4)) && randomEnough(v, 3),
  },
  {
    id: 'prefect-api-token',
    description: 'Prefect API token',
    pattern: /(?<![A-Za-z0-9])pnu_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
    keywords: ['pnu_'],
    verify: (v) => randomEnough(v.slice(4), 3),
  },
  {
    id: 'settlemint-access-token',
    description: 'SettleMint application, personal or service access token',
    pattern: /(?<![A-Za-z0-9])sm_(?:aat|pat|sat)_[A-Za-z0-9]{16}(?![A-Za-z0-9])/g,
    keywords: ['sm_aat_', 'sm_pat_', 'sm_sat_'],
    verify: entropyAtLeast(3),
  },
  {
    id: 'defined-networking-api-token',
    description: 'Defined Networking API token',
    pattern: /(?<![A-Za-z0-9])dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}(?![a-z0-9=_-])/gi,
    keywords: ['dnkey-'],
    verify: entropyAtLeast(3),
  },
  {
    // Both orders: `kind: Secret` then `data:` (hand-written), and `data:` then `kind: Secret` (kubectl's sorted keys),
    // the latter checked behind `kind:` so that the regex opens with one literal and scans fast where TypeScript says `kind:`.
    id: 'kubernetes-secret-yaml',
    description: 'Kubernetes Secret manifest with data',
    pattern: new RegExp(
      String.raw`kind:(?<![\w.-]kind:)[ \t]{0,16}["']?Secret\b(?:["']?[ \t]{0,16}\r?\n(?:[^\n]{0,512}\n){0,20}?[ \t]{0,16}(?<![\w.-])${SECRET_DATA_ENTRY}(?=\r?\n|$)|(?<=(?<![\w.-])${SECRET_DATA_ENTRY}\r?\n(?:[^\n]{0,512}\n){0,20}?${KIND_SECRET}))`,
      'g',
    ),
    keywords: ['kind:'],
    keywordLead: DATA_FIRST_LEAD,
  },
]
