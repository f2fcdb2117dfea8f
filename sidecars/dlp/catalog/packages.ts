/**
 * Package registries and artifact stores: npm, PyPI, RubyGems, Clojars,
 * JFrog Artifactory, Sidekiq's gem server, NuGet feeds. Formats as facts from
 * gitleaks' default config at commit b58d3f1 (MIT, see LICENSE-gitleaks).
 */
import { Buffer } from 'node:buffer'
import { hasBase62Crc32Tail } from '../checksums.js'
import type { CredentialPattern } from '../types.js'
import { looksRandom, providerAssignment, randomEnough, shortName } from './shared.js'

/** PyPI tokens are macaroons whose location field names the index. */
function pypiMacaroon(token: string): boolean {
  return Buffer.from(token.slice(5, 5 + 32), 'base64url').toString('latin1').includes('pypi.org')
}

const XRAY = shortName('xray')

export const PACKAGE_PATTERNS: readonly CredentialPattern[] = [
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
    pattern: /(?<![A-Za-z0-9_-])pypi-AgE[A-Za-z0-9_-]{50}[A-Za-z0-9_-]*(?![A-Za-z0-9_-])/g,
    keywords: ['pypi-AgE'],
    verify: pypiMacaroon,
  },
  {
    id: 'rubygems-api-token',
    description: 'RubyGems API key',
    pattern: /(?<![A-Za-z0-9])rubygems_[a-f0-9]{48}(?![A-Za-z0-9])/g,
    keywords: ['ygems_'],
    keywordLead: 3,
    verify: (v) => looksRandom(v.slice(9)),
  },
  {
    id: 'clojars-api-token',
    description: 'Clojars deploy token',
    pattern: /(?<![A-Za-z0-9])CLOJARS_[a-z0-9]{60}(?![A-Za-z0-9])/gi,
    keywords: ['OJARS_'],
    keywordLead: 2,
    verify: (v) => randomEnough(v.slice(8), 3),
  },
  {
    // Apart from the tokens found under a JFrog name: `AKCp` turns up in random base64 once a MiB (see Alibaba's key ids).
    id: 'artifactory-api-key',
    description: 'JFrog Artifactory API key or reference token',
    pattern: /(?<![A-Za-z0-9])(?:AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})(?![A-Za-z0-9])/g,
    keywords: ['AKCp', 'cmVmd'],
    verify: (v) => randomEnough(v, 4.3),
  },
  {
    id: 'jfrog-token',
    description: 'JFrog API key or identity token',
    pattern: new RegExp(providerAssignment(['jfrog', 'artifactory', 'bintray', XRAY.source], [{ value: '[a-z0-9]{73}' }, { value: '[a-z0-9]{64}' }]), 'gi'),
    keywords: ['jfrog', 'ifactory', 'bintray', ...XRAY.keywords],
    keywordLead: 3,
    verify: looksRandom,
  },
  {
    // The gem server's `user:password` in Bundler's environment name, or in a source URL (`contribsys.com`
    // sits at most 37 characters into that match).
    id: 'sidekiq-secret',
    description: 'Sidekiq Pro / Enterprise gem server credentials',
    pattern: new RegExp(
      String.raw`${providerAssignment(['bundle_enterprise__contribsys__com', 'bundle_gems__contribsys__com'], [{ value: '[a-f0-9]{8}:[a-f0-9]{8}' }])}|https?:\/\/([a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\.contribsys\.com(?![\w.-])`,
      'gi',
    ),
    keywords: ['__contribsys__com', 'bsys.com'],
    keywordLead: 43,
    verify: (v) => looksRandom(v.replace(':', '')),
  },
  {
    id: 'nuget-config-password',
    description: 'Password in a NuGet config',
    pattern: /<add key=["'](?:ClearText)?Password["']\s*value=["']([^"'\r\n]{8,256})["']\s*\/>/gi,
    keywords: ['<add key='],
  },
]
