/**
 * Social networks, media and consumer platforms: Twitter (X), Facebook
 * (Meta), LinkedIn, Twitch, Flickr, Etsy, The New York Times, Dropbox.
 * Formats as facts from gitleaks' default config at commit b58d3f1 (MIT, see
 * LICENSE-gitleaks). Most of these are plain alphanumeric strings, found only
 * under the provider's name.
 */
import type { CredentialPattern } from '../types.js'
import { looksRandom, providerAssignment, randomEnough, shortName } from './shared.js'

function twitterCredential(value: string): boolean {
  // Bearer tokens open with 22 `A`s (the regex matches them case-insensitively).
  if (value.length >= 102 && /^a{22}/i.test(value)) return value.startsWith('A'.repeat(22)) && randomEnough(value.slice(22), 4)
  // Access tokens are `<user id>-<secret>`.
  const dash = value.indexOf('-')
  return looksRandom(dash < 0 ? value : value.slice(dash + 1))
}

function facebookAppCredential(value: string): boolean {
  // App access tokens are `<app id>|<app secret>` (`%7C` when URL-encoded).
  const pipe = value.search(/\||%7C/i)
  return looksRandom(pipe < 0 ? value : value.slice(value[pipe] === '|' ? pipe + 1 : pipe + 3))
}

function dropboxToken(value: string): boolean {
  if (/^sl\./i.test(value)) return randomEnough(value, 4)
  return value.length === 15 ? looksRandom(value) : randomEnough(value, 3.5)
}

const ETSY = shortName('etsy')

export const SOCIAL_PATTERNS: readonly CredentialPattern[] = [
  {
    id: 'twitter-token',
    description: 'Twitter (X) API key, API secret, access token, access secret or bearer token',
    pattern: new RegExp(
      providerAssignment(
        ['twitter'],
        [{ value: 'a{22}[a-z0-9%]{80,100}' }, { value: '[a-z0-9]{25}' }, { value: '[a-z0-9]{45}' }, { value: '[a-z0-9]{50}' }, { value: '[0-9]{15,25}-[a-z0-9]{20,40}' }],
      ),
      'gi',
    ),
    keywords: ['twitter'],
    verify: twitterCredential,
  },
  {
    // Apart from the app secrets, like Alibaba's key ids: `EAAC` and `EAAM` turn up in random base64.
    id: 'facebook-page-access-token',
    description: 'Facebook (Meta) page or user access token',
    pattern: /(?<![A-Za-z0-9])EAA[MC][A-Za-z0-9]{100}[A-Za-z0-9]*(?![A-Za-z0-9])/g,
    keywords: ['EAAM', 'EAAC'],
    verify: (v) => randomEnough(v, 4),
  },
  {
    id: 'facebook-access-token',
    description: 'Facebook (Meta) app access token or app secret',
    pattern: new RegExp(providerAssignment(['facebook'], [{ value: '[0-9]{15,16}(?:\\||%7C)[0-9a-z_-]{27,40}' }, { value: '[a-f0-9]{32}' }]), 'gi'),
    keywords: ['ebook'],
    keywordLead: 3,
    verify: facebookAppCredential,
  },
  {
    id: 'linkedin-client-secret',
    description: 'LinkedIn client id or client secret',
    pattern: new RegExp(providerAssignment(['linked[_-]?in'], [{ value: '[a-z0-9]{14}' }, { value: '[a-z0-9]{16}' }]), 'gi'),
    // Not `nked`: that is "linked", "ranked", "chunked".
    keywords: ['kedin', 'ked_in', 'ked-in'],
    keywordLead: 3,
    verify: looksRandom,
  },
  {
    id: 'twitch-api-token',
    description: 'Twitch API token',
    pattern: new RegExp(providerAssignment(['twitch'], [{ value: '[a-z0-9]{30}' }]), 'gi'),
    keywords: ['twitch'],
    verify: looksRandom,
  },
  {
    id: 'flickr-access-token',
    description: 'Flickr access token',
    pattern: new RegExp(providerAssignment(['flickr'], [{ value: '[a-z0-9]{32}' }]), 'gi'),
    keywords: ['flickr'],
    verify: looksRandom,
  },
  {
    id: 'etsy-access-token',
    description: 'Etsy access token',
    pattern: new RegExp(providerAssignment([ETSY.source], [{ value: '[a-z0-9]{24}' }]), 'gi'),
    keywords: ETSY.keywords,
    verify: looksRandom,
  },
  {
    id: 'nytimes-access-token',
    description: 'New York Times API key',
    pattern: new RegExp(providerAssignment(['nytimes', 'new-york-times', 'newyorktimes'], [{ value: '[a-z0-9=_-]{32}' }]), 'gi'),
    keywords: ['nytimes', 'rk-times', 'rktimes'],
    keywordLead: 6,
    verify: looksRandom,
  },
  {
    id: 'dropbox-api-token',
    description: 'Dropbox app key, long-lived or short-lived access token',
    pattern: new RegExp(
      providerAssignment(['dropbox'], [{ value: '[a-z0-9]{15}' }, { value: '[a-z0-9]{11}a{10}[a-z0-9_=-]{43}' }, { value: String.raw`sl\.(?:u\.)?[a-z0-9_=-]{135,1400}` }]),
      'gi',
    ),
    keywords: ['opbox'],
    keywordLead: 2,
    verify: dropboxToken,
  },
]
