/**
 * Source hosting and code collaboration: GitHub, GitLab, Atlassian,
 * Bitbucket, Sourcegraph, Gitter. Formats as facts from gitleaks' default
 * config at commit b58d3f1 (MIT, see LICENSE-gitleaks).
 */
import { hasBase62Crc32Tail } from '../checksums.js'
import type { CredentialPattern } from '../types.js'
import { entropyAtLeast, looksRandom, providerAssignment, shortName } from './shared.js'

/** GitHub reserves up to 255 characters; only the 36-character body has a published checksum. */
function githubClassicToken(token: string): boolean {
  const body = token.slice(4)
  // Every token GitHub issues has a 36-character body with its checksum. Longer bodies were accepted
  // unchecked until a join of two fields (a near miss and the value after it) proved how easily that matches.
  return body.length === 36 && hasBase62Crc32Tail(body)
}

const JIRA = shortName('jira')

export const SOURCE_CONTROL_PATTERNS: readonly CredentialPattern[] = [
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
    // Classic (`glpat-` + 20) and routable (`glpat-<payload>.<version><crc>`) tokens.
    id: 'gitlab-pat',
    description: 'GitLab personal access token',
    pattern: /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]{2}[A-Za-z0-9_-]*){0,2}(?![A-Za-z0-9_-])/g,
    keywords: ['glpat-'],
    verify: entropyAtLeast(3),
  },
  {
    id: 'gitlab-token',
    description: 'GitLab deploy, runner, trigger, CI job, SCIM, OAuth, agent, mail or feed token',
    pattern: /(?<![A-Za-z0-9_-])(?:(?:gldt|glrt|glptt|glsoat|glcbt|glffct|glimt|glagent|gloas|glft)-[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]{2}[A-Za-z0-9_-]*){0,2}|GR1348941[A-Za-z0-9_-]{20})(?![A-Za-z0-9_-])/g,
    keywords: ['gldt-', 'glrt-', 'glptt-', 'glsoat-', 'glcbt-', 'glffct-', 'glimt-', 'glagent-', 'gloas-', 'glft-', 'GR1348941'],
    verify: entropyAtLeast(3),
  },
  {
    id: 'gitlab-session-cookie',
    description: 'GitLab session cookie',
    pattern: /_gitlab_session=([0-9a-z]{32})(?![A-Za-z0-9])/g,
    keywords: ['_gitlab_session='],
    verify: looksRandom,
  },
  {
    // Current tokens (`ATATT3...`) alone; the older 24-character ones only under an Atlassian, Jira or Confluence name.
    id: 'atlassian-api-token',
    description: 'Atlassian API token',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9_=-])(ATATT3[A-Za-z0-9_=-]{150}[A-Za-z0-9_=-]*)(?![A-Za-z0-9_=-])|${providerAssignment(['atlassian', 'confluence', JIRA.source], [{ value: '[a-z0-9]{20}[a-f0-9]{4}' }])}`,
      'gi',
    ),
    keywords: ['ATATT3', 'atlassian', 'fluence', ...JIRA.keywords],
    keywordLead: 3,
    verify: (v) => (/^atatt3/i.test(v) ? v.startsWith('ATATT3') : looksRandom(v)),
  },
  {
    id: 'bitbucket-client-secret',
    description: 'Bitbucket OAuth client id or secret',
    pattern: new RegExp(providerAssignment(['bitbucket'], [{ value: '[a-z0-9]{32}' }, { value: '[a-z0-9=_-]{64}' }]), 'gi'),
    keywords: ['bitbucket'],
    verify: looksRandom,
  },
  {
    id: 'sourcegraph-access-token',
    description: 'Sourcegraph access token',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9])(sgp_(?:[a-f0-9]{16}_|local_)?[a-f0-9]{40})(?![A-Za-z0-9])|${providerAssignment(['sourcegraph'], [{ value: '[a-f0-9]{40}' }])}`,
      'gi',
    ),
    keywords: ['sgp_', 'rcegraph'],
    keywordLead: 3,
    verify: (v) => looksRandom(v.replace(/^sgp_(?:local_)?/i, '').replace('_', '')),
  },
  {
    id: 'gitter-access-token',
    description: 'Gitter access token',
    pattern: new RegExp(providerAssignment(['gitter'], [{ value: '[a-z0-9_-]{40}' }]), 'gi'),
    keywords: ['gitter'],
    verify: looksRandom,
  },
]
