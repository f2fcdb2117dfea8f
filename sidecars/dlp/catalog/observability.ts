/**
 * Monitoring, CI and code quality services: Sentry, Grafana, New Relic,
 * Dynatrace, Datadog, Sumo Logic, LaunchDarkly, Codecov, Travis CI, Drone,
 * Snyk, SonarQube. Formats as facts from gitleaks' default config at commit
 * b58d3f1 (MIT, see LICENSE-gitleaks).
 */
import type { CredentialPattern } from '../types.js'
import { UUID, decodeBase64Json, entropyAtLeast, isJsonObject, looksRandom, providerAssignment, randomEnough, shortName } from './shared.js'

/** Organization tokens are `sntrys_` + base64 JSON claims (`iat`, `url`, `org`...) + `_` + the secret. */
function sentryToken(token: string): boolean {
  if (/^sntrys_/i.test(token)) {
    const body = token.slice(7)
    const end = body.indexOf('_')
    return token.startsWith('sntrys_') && isJsonObject(decodeBase64Json(end < 0 ? body : body.slice(0, end)))
  }
  if (/^sntryu_/i.test(token)) return token.startsWith('sntryu_')
  return looksRandom(token)
}

/** Legacy API keys are base64 JSON (`{"k":"...","n":"...","id":1}`); cloud and service account tokens have prefixes. */
function grafanaToken(token: string): boolean {
  if (token.startsWith('eyJrIjoi')) {
    const claims = decodeBase64Json(token)
    return isJsonObject(claims) && typeof claims['k'] === 'string'
  }
  if (token.startsWith('glc_')) return randomEnough(token.slice(4), 3)
  return true
}

function newRelicKey(key: string): boolean {
  if (/^nr(?:ak|js|ii)-/i.test(key)) return /^NR(?:AK|JS|II)-/.test(key) && (!key.startsWith('NRAK-') || /^NRAK-[A-Z0-9]{27}$/.test(key))
  return looksRandom(key)
}

const SUMO = shortName('sumo', ['logic'])

export const OBSERVABILITY_PATTERNS: readonly CredentialPattern[] = [
  {
    id: 'sentry-auth-token',
    description: 'Sentry organization, user or legacy auth token',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9+/=_-])(sntrys_eyJ[A-Za-z0-9+/=_-]{50}[A-Za-z0-9+/=_-]*|sntryu_[a-f0-9]{64})(?![A-Za-z0-9+/=_-])|${providerAssignment(['sentry'], [{ value: '[a-f0-9]{64}' }])}`,
      'gi',
    ),
    keywords: ['sntrys_', 'sntryu_', 'sentry'],
    verify: sentryToken,
  },
  {
    id: 'grafana-token',
    description: 'Grafana service account, Grafana Cloud or legacy API token',
    pattern: /(?<![A-Za-z0-9+/_-])(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/_-]{32,400}={0,3}|eyJrIjoi[A-Za-z0-9+/]{70,400}={0,3})(?![A-Za-z0-9+/=_-])/g,
    keywords: ['glsa_', 'glc_', 'eyJrIjoi'],
    verify: grafanaToken,
  },
  {
    // User keys (`NRAK-`) alone; browser (`NRJS-`), insert (`NRII-`) keys and user API ids under a New Relic name.
    id: 'new-relic-api-key',
    description: 'New Relic user API key, browser or insert key',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9])(NRAK-[A-Z0-9]{27})(?![A-Za-z0-9])|${providerAssignment(['new[-_]?relic'], [{ value: 'NRJS-[a-f0-9]{19}' }, { value: 'NRII-[a-z0-9-]{32}' }, { value: '[a-z0-9]{64}' }])}`,
      'gi',
    ),
    keywords: ['NRAK-', 'relic'],
    keywordLead: 4,
    verify: newRelicKey,
  },
  {
    id: 'dynatrace-token',
    description: 'Dynatrace API token',
    pattern: /(?<![A-Za-z0-9])dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}(?![A-Za-z0-9])/g,
    keywords: ['dt0c01.'],
    verify: entropyAtLeast(4),
  },
  {
    id: 'datadog-access-token',
    description: 'Datadog API or application key',
    pattern: new RegExp(providerAssignment(['datadog'], [{ value: '[a-z0-9]{40}' }]), 'gi'),
    keywords: ['datadog'],
    verify: looksRandom,
  },
  {
    id: 'sumologic-access-token',
    description: 'Sumo Logic access id or access key',
    pattern: new RegExp(providerAssignment([SUMO.source], [{ value: 'su[a-z0-9]{12}' }, { value: '[a-z0-9]{64}' }]), 'gi'),
    keywords: SUMO.keywords,
    verify: looksRandom,
  },
  {
    id: 'launchdarkly-access-token',
    description: 'LaunchDarkly access token',
    pattern: new RegExp(providerAssignment(['launchdarkly'], [{ value: '[a-z0-9=_-]{40}' }]), 'gi'),
    keywords: ['hdarkly'],
    keywordLead: 5,
    verify: (v) => looksRandom(v.replace(/^api-/, '')),
  },
  {
    id: 'codecov-access-token',
    description: 'Codecov access token',
    pattern: new RegExp(providerAssignment(['codecov'], [{ value: '[a-z0-9]{32}' }]), 'gi'),
    keywords: ['odecov'],
    keywordLead: 1,
    verify: looksRandom,
  },
  {
    id: 'travisci-access-token',
    description: 'Travis CI access token',
    pattern: new RegExp(providerAssignment(['travis'], [{ value: '[a-z0-9]{22}' }]), 'gi'),
    keywords: ['ravis'],
    keywordLead: 1,
    verify: looksRandom,
  },
  {
    id: 'droneci-access-token',
    description: 'Drone CI access token',
    pattern: new RegExp(providerAssignment(['droneci'], [{ value: '[a-z0-9]{32}' }]), 'gi'),
    keywords: ['droneci'],
    verify: looksRandom,
  },
  {
    id: 'snyk-api-token',
    description: 'Snyk API token',
    pattern: new RegExp(providerAssignment([String.raw`snyk[_.-]?(?:(?:api|oauth)[_.-]?)?(?:key|token)`], [{ value: UUID }]), 'gi'),
    keywords: ['snyk'],
    verify: looksRandom,
  },
  {
    // User, project and analysis tokens alone; older unprefixed ones under a `sonar.login` / `SONAR_TOKEN` name.
    id: 'sonar-api-token',
    description: 'SonarQube / SonarCloud token',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9])(sq[upa]_[a-f0-9]{40})(?![A-Za-z0-9])|${providerAssignment([String.raw`sonar[_.-]?(?:login|token)`], [{ value: '(?:sq[upa]_)?[a-z0-9=_-]{40}' }])}`,
      'gi',
    ),
    keywords: ['squ_', 'sqp_', 'sqa_', 'sonar'],
    verify: (v) => looksRandom(v.replace(/^sq[upa]_/i, '')),
  },
]
