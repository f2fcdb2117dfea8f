/**
 * Cloud and hosting platforms: AWS, Google Cloud, Azure, Alibaba Cloud,
 * DigitalOcean, Heroku, Fly.io, Cloudflare, Netlify, Scalingo, Yandex Cloud,
 * OpenShift, ClickHouse Cloud, Databricks, Supabase, PlanetScale. Formats as
 * facts from gitleaks' default config at commit b58d3f1 (MIT, see
 * LICENSE-gitleaks).
 */
import type { CredentialPattern } from '../types.js'
import { ASSIGN, UUID, entropyAtLeast, hasUpperAndLower, hasUpperLowerDigit, looksRandom, providerAssignment, randomEnough } from './shared.js'

export const CLOUD_PATTERNS: readonly CredentialPattern[] = [
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id',
    pattern: /(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z2-7]{16}(?![A-Za-z0-9])/g,
    keywords: ['A3T', 'AKIA', 'ASIA', 'ABIA', 'ACCA', 'AGPA', 'AIDA', 'AIPA', 'ANPA', 'ANVA', 'AROA', 'APKA', 'ASCA'],
    verify: looksRandom,
  },
  {
    // The name may start with `aws` up to 24 characters before `secret`.
    id: 'aws-secret-access-key',
    description: 'AWS secret access key',
    pattern: new RegExp(String.raw`(?:aws[A-Za-z0-9_.-]{0,24}?secret|secret_?access_?key)[A-Za-z0-9_.-]{0,24}${ASSIGN}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`, 'gi'),
    keywords: ['secret'],
    keywordLead: 27,
    verify: (v) => hasUpperAndLower(v) && randomEnough(v, 4),
  },
  {
    // Long-lived keys are `ABSK` + base64 of `BedrockAPIKey-<id>-at-<account>:<secret>`; short-lived ones the base64 of a
    // presigned `bedrock.amazonaws.com` URL. Keyed on the whole fixed prefix: `ABSK` alone is in every MiB of random base64.
    id: 'aws-bedrock-api-key',
    description: 'Amazon Bedrock API key (long- or short-lived)',
    pattern: /(?<![A-Za-z0-9+/])(?:ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{91,251}={0,2}|bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/]{64}[A-Za-z0-9+/]*={0,2})(?![A-Za-z0-9+/=])/g,
    keywords: ['ABSKQmVkcm9ja0FQSUtleS', 'bedrock-api-key-'],
    verify: (v) => randomEnough(v, 3),
  },
  {
    id: 'google-api-key',
    description: 'Google API key',
    pattern: /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
    keywords: ['AIza'],
    verify: entropyAtLeast(4),
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
    pattern: /(?<![A-Za-z0-9/_-])1\/\/0[A-Za-z0-9_-]{40}[A-Za-z0-9_-]*(?![A-Za-z0-9_-])/g,
    keywords: ['1//0'],
    verify: hasUpperLowerDigit,
  },
  {
    id: 'google-oauth-access-token',
    description: 'Google OAuth access token',
    pattern: /(?<![A-Za-z0-9_-])ya29\.[A-Za-z0-9_-]{30}[A-Za-z0-9_-]*(?![A-Za-z0-9_-])/g,
    keywords: ['ya29.'],
    verify: hasUpperLowerDigit,
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
    // The signature may sit up to 414 characters after the `sv=` that opens the match.
    id: 'azure-sas-token',
    description: 'Azure shared access signature',
    pattern: /sv=[0-9]{4}-[0-9]{2}-[0-9]{2}[^\s"'<>]{0,400}?[?&]sig=([A-Za-z0-9%+/]{40}[A-Za-z0-9%+/]*(?:%3[Dd]|=){0,2})/g,
    keywords: ['sig='],
    keywordLead: 414,
  },
  {
    // `Q~` follows 3 characters and a digit.
    id: 'azure-ad-client-secret',
    description: 'Microsoft Entra ID (Azure AD) client secret',
    pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/g,
    keywords: ['Q~'],
    keywordLead: 4,
    verify: entropyAtLeast(3),
  },
  {
    // Apart from the secrets found under an Alibaba name: a merged rule would scan every text holding `LTAI`, which
    // random base64 does once a MiB, with the slower case-insensitive regex of the context rule.
    id: 'alibaba-access-key-id',
    description: 'Alibaba Cloud AccessKey id',
    pattern: /(?<![A-Za-z0-9])LTAI[A-Za-z0-9]{20}(?![A-Za-z0-9])/g,
    keywords: ['LTAI'],
    verify: (v) => randomEnough(v, 3),
  },
  {
    id: 'alibaba-secret-key',
    description: 'Alibaba Cloud AccessKey secret',
    pattern: new RegExp(providerAssignment(['alibaba'], [{ value: '[a-z0-9]{30}' }]), 'gi'),
    keywords: ['ibaba'],
    keywordLead: 2,
    verify: looksRandom,
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
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9])(HRKU-AA[A-Za-z0-9_-]{58})(?![A-Za-z0-9_-])|heroku[A-Za-z0-9_.-]{0,24}${ASSIGN}(${UUID})(?![A-Za-z0-9])`, 'gi'),
    keywords: ['HRKU-', 'heroku'],
  },
  {
    id: 'flyio-access-token',
    description: 'Fly.io API token',
    pattern: /(?<![A-Za-z0-9_+/-])(?:fo1_[A-Za-z0-9_-]{43}|fm1[ar]_[A-Za-z0-9+/]{100}[A-Za-z0-9+/]*={0,3}|fm2_[A-Za-z0-9+/]{100}[A-Za-z0-9+/]*={0,3})(?![A-Za-z0-9_+/=-])/g,
    keywords: ['o1_', 'fm1a_', 'fm1r_', 'fm2_'],
    keywordLead: 1,
    verify: entropyAtLeast(4),
  },
  {
    // Origin CA keys alone; API tokens (40) and global API keys (37 hex) only under a Cloudflare name.
    id: 'cloudflare-api-key',
    description: 'Cloudflare API token, global API key or Origin CA key',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9])(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})(?![A-Za-z0-9])|${providerAssignment(['cloudflare'], [{ value: '[a-z0-9_-]{40}' }, { value: '[a-f0-9]{37}' }])}`,
      'gi',
    ),
    keywords: ['v1.0-', 'dflare'],
    keywordLead: 4,
    verify: (v) => looksRandom(v.startsWith('v1.0-') ? v.slice(5) : v),
  },
  {
    id: 'netlify-access-token',
    description: 'Netlify access token',
    pattern: new RegExp(providerAssignment(['netlify'], [{ value: '[a-z0-9=_-]{40,46}' }]), 'gi'),
    keywords: ['tlify'],
    keywordLead: 2,
    verify: looksRandom,
  },
  {
    id: 'scalingo-api-token',
    description: 'Scalingo API token',
    pattern: /(?<![A-Za-z0-9_-])tk-us-[A-Za-z0-9_-]{48}(?![A-Za-z0-9_-])/g,
    keywords: ['tk-us-'],
    verify: (v) => randomEnough(v.slice(6), 3),
  },
  {
    id: 'yandex-api-key',
    description: 'Yandex Cloud IAM token, API key or AWS-compatible access key',
    pattern: new RegExp(
      providerAssignment(
        ['yandex'],
        [{ value: String.raw`t1\.[A-Za-z0-9_-]{1,256}={0,2}\.[A-Za-z0-9_-]{86}={0,2}` }, { value: 'AQVN[A-Za-z0-9_-]{35,38}' }, { value: 'YC[A-Za-z0-9_-]{38}' }],
      ),
      'gi',
    ),
    keywords: ['yandex'],
    verify: looksRandom,
  },
  {
    id: 'openshift-user-token',
    description: 'OpenShift user token',
    pattern: /(?<![A-Za-z0-9_-])sha256~[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    keywords: ['sha256~'],
    verify: (v) => randomEnough(v.slice(7), 3.5),
  },
  {
    id: 'clickhouse-cloud-api-secret-key',
    description: 'ClickHouse Cloud API secret key',
    pattern: /(?<![A-Za-z0-9])4b1d[A-Za-z0-9]{38}(?![A-Za-z0-9])/g,
    keywords: ['4b1d'],
    // Mixed case, so a 42-digit hex run that happens to start `4b1d` is not one.
    verify: (v) => hasUpperAndLower(v) && randomEnough(v, 3),
  },
  {
    id: 'databricks-token',
    description: 'Databricks personal access token',
    pattern: /(?<![A-Za-z0-9])dapi[a-f0-9]{32}(?:-[0-9])?(?![A-Za-z0-9])/g,
    keywords: ['dapi'],
    verify: (v) => looksRandom(v.slice(4, 36)),
  },
  {
    id: 'supabase-token',
    description: 'Supabase personal access token',
    pattern: /(?<![A-Za-z0-9])sbp_[a-f0-9]{40}(?![A-Za-z0-9])/g,
    keywords: ['sbp_'],
  },
  {
    id: 'planetscale-token',
    description: 'PlanetScale service token, OAuth token or password',
    pattern: /(?<![A-Za-z0-9])pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.-]{32,64}(?![A-Za-z0-9_=.-])/g,
    keywords: ['pscale_tkn_', 'pscale_oauth_', 'pscale_pw_'],
    verify: (v) => randomEnough(v.slice(v.indexOf('_', 7) + 1), 3),
  },
]
