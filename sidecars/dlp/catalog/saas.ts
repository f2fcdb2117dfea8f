/**
 * Productivity, developer and business SaaS: Linear, Notion, Asana,
 * Airtable, Algolia, Adafruit IO, Adobe, Beamer, Contentful, Confluent,
 * Fastly, FreshBooks, Frame.io, HubSpot, 42 Intra, Looker, Mapbox, MaxMind,
 * Postman, RapidAPI, ReadMe, Squarespace, Typeform, Okta, Authress, Cisco
 * Meraki. Formats as facts from gitleaks' default config at commit b58d3f1
 * (MIT, see LICENSE-gitleaks).
 */
import type { CredentialPattern } from '../types.js'
import { UUID, entropyAtLeast, looksRandom, providerAssignment, randomEnough, shortName } from './shared.js'

function linearKey(key: string): boolean {
  if (/^lin_/i.test(key)) return key.startsWith('lin_') && looksRandom(key.slice(key.indexOf('_', 4) + 1))
  return looksRandom(key)
}

function mapboxToken(token: string): boolean {
  if (/^sk\./i.test(token)) return token.startsWith('sk.eyJ1Ijoi') && randomEnough(token, 4)
  return randomEnough(token, 4)
}

const OKTA = shortName('okta')

export const SAAS_PATTERNS: readonly CredentialPattern[] = [
  {
    // API keys and OAuth tokens alone; OAuth client secrets under a Linear name.
    id: 'linear-api-key',
    description: 'Linear API key, OAuth token or client secret',
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9])(lin_(?:api_[A-Za-z0-9]{40}|oauth_[a-f0-9]{64}))(?![A-Za-z0-9])|${providerAssignment(['linear'], [{ value: '[a-f0-9]{32}' }])}`, 'gi'),
    keywords: ['lin_api_', 'lin_oauth_', 'linear'],
    verify: linearKey,
  },
  {
    id: 'notion-api-token',
    description: 'Notion integration token',
    pattern: /(?<![A-Za-z0-9])ntn_[0-9]{11}[A-Za-z0-9]{35}(?![A-Za-z0-9])/g,
    keywords: ['tn_'],
    keywordLead: 1,
    verify: entropyAtLeast(4),
  },
  {
    // Client ids are numeric like every Asana object id: only under a name that says `client`.
    id: 'asana-client-secret',
    description: 'Asana client id or client secret',
    pattern: new RegExp(providerAssignment(['asana'], [{ value: '[a-z0-9]{32}' }, { value: '[0-9]{16}', nameHas: 'client' }]), 'gi'),
    keywords: ['asana'],
    verify: looksRandom,
  },
  {
    id: 'airtable-api-key',
    description: 'Airtable API key',
    pattern: new RegExp(providerAssignment(['airtable'], [{ value: '[a-z0-9]{17}' }]), 'gi'),
    keywords: ['airtable'],
    verify: looksRandom,
  },
  {
    // `pat` opens "path", "pattern" and "patch" all over code: the regex waits for text that also holds the `.` and
    // 64 hex digits of a token in a row. A run longer than 64 is looked for by probing every 65th character, not by a
    // pass over the text, so a text full of "path" costs a few probes.
    id: 'airtable-personal-access-token',
    description: 'Airtable personal access token',
    pattern: /(?<![A-Za-z0-9])pat[A-Za-z0-9]{14}\.[a-f0-9]{64}(?![A-Za-z0-9])/g,
    keywords: ['pat'],
    requiresRun: { chars: /[a-f0-9.]/, length: 65 },
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'algolia-api-key',
    description: 'Algolia API key',
    pattern: new RegExp(providerAssignment(['algolia'], [{ value: '[a-z0-9]{32}' }]), 'gi'),
    keywords: ['lgolia'],
    keywordLead: 1,
    verify: looksRandom,
  },
  {
    id: 'adafruit-api-key',
    description: 'Adafruit IO key',
    pattern: new RegExp(providerAssignment(['adafruit'], [{ value: '[a-z0-9_-]{32}' }]), 'gi'),
    keywords: ['afruit'],
    keywordLead: 2,
    verify: looksRandom,
  },
  {
    // Client secrets (`p8e-`) alone; client ids under an Adobe name.
    id: 'adobe-client-secret',
    description: 'Adobe OAuth client secret or client id',
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9])(p8e-[A-Za-z0-9]{32})(?![A-Za-z0-9])|${providerAssignment(['adobe'], [{ value: '[a-f0-9]{32}' }])}`, 'gi'),
    keywords: ['p8e-', 'adobe'],
    verify: looksRandom,
  },
  {
    id: 'beamer-api-token',
    description: 'Beamer API key',
    pattern: new RegExp(providerAssignment(['beamer'], [{ value: 'b_[a-z0-9=_-]{44}' }]), 'gi'),
    keywords: ['beamer'],
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'contentful-delivery-api-token',
    description: 'Contentful delivery API token',
    pattern: new RegExp(providerAssignment(['contentful'], [{ value: '[a-z0-9=_-]{43}' }]), 'gi'),
    keywords: ['ntful'],
    keywordLead: 5,
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'confluent-api-key',
    description: 'Confluent Cloud API key or secret',
    pattern: new RegExp(providerAssignment(['confluent'], [{ value: '[a-z0-9]{16}' }, { value: '[a-z0-9]{64}' }]), 'gi'),
    keywords: ['fluent'],
    keywordLead: 3,
    verify: looksRandom,
  },
  {
    id: 'fastly-api-token',
    description: 'Fastly API token',
    pattern: new RegExp(providerAssignment(['fastly'], [{ value: '[a-z0-9=_-]{32}' }]), 'gi'),
    keywords: ['fastly'],
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'freshbooks-access-token',
    description: 'FreshBooks access token',
    pattern: new RegExp(providerAssignment(['freshbooks'], [{ value: '[a-z0-9]{64}' }]), 'gi'),
    keywords: ['shbooks'],
    keywordLead: 3,
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'frameio-api-token',
    description: 'Frame.io API token',
    pattern: /(?<![A-Za-z0-9])fio-u-[A-Za-z0-9_=-]{64}(?![A-Za-z0-9_=-])/g,
    keywords: ['o-u-'],
    keywordLead: 2,
    verify: (v) => randomEnough(v.slice(6), 3.5),
  },
  {
    // Private app tokens (`pat-na1-<uuid>`) alone; legacy API keys (a UUID) under a HubSpot name.
    id: 'hubspot-api-key',
    description: 'HubSpot private app token or API key',
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9])(pat-(?:na|eu)[0-9]-${UUID})(?![A-Za-z0-9-])|${providerAssignment(['hubspot'], [{ value: UUID }])}`, 'gi'),
    keywords: ['pat-na', 'pat-eu', 'hubspot'],
    verify: (v) => looksRandom(v.slice(-36)),
  },
  {
    id: 'intra42-client-secret',
    description: '42 Intra client secret',
    pattern: /(?<![A-Za-z0-9])s-s4t2(?:ud|af)-[a-fA-F0-9]{64}(?![A-Za-z0-9])/g,
    keywords: ['s-s4t2ud-', 's-s4t2af-'],
    verify: (v) => looksRandom(v.slice(9)),
  },
  {
    id: 'looker-client-secret',
    description: 'Looker client id or client secret',
    pattern: new RegExp(providerAssignment(['looker'], [{ value: '[a-z0-9]{20}' }, { value: '[a-z0-9]{24}' }]), 'gi'),
    keywords: ['ooker'],
    keywordLead: 1,
    verify: looksRandom,
  },
  {
    // Secret tokens (`sk.` + a base64 JSON user claim) alone; public tokens under a Mapbox name, as gitleaks has them.
    id: 'mapbox-api-token',
    description: 'Mapbox access token',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9_.-])(sk\.eyJ1Ijoi[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*)(?![A-Za-z0-9_-])|${providerAssignment(['mapbox'], [{ value: String.raw`pk\.[a-z0-9]{60}\.[a-z0-9]{22}` }])}`,
      'gi',
    ),
    keywords: ['sk.eyJ1Ijoi', 'apbox'],
    keywordLead: 1,
    verify: mapboxToken,
  },
  {
    // The match opens at `_mmk`; the key, which ends with it 36 characters later, is checked behind it.
    id: 'maxmind-license-key',
    description: 'MaxMind license key',
    pattern: /_mmk(?![A-Za-z0-9])(?<=(?<![A-Za-z0-9])([A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk))/g,
    keywords: ['_mmk'],
    keywordLead: 36,
    verify: entropyAtLeast(3.6),
  },
  {
    id: 'postman-api-key',
    description: 'Postman API key',
    pattern: /(?<![A-Za-z0-9])PMAK-[a-f0-9]{24}-[a-f0-9]{34}(?![A-Za-z0-9])/g,
    keywords: ['PMAK-'],
  },
  {
    id: 'rapidapi-access-token',
    description: 'RapidAPI key',
    pattern: new RegExp(providerAssignment(['rapidapi'], [{ value: '[a-z0-9_-]{50}' }]), 'gi'),
    keywords: ['pidapi'],
    keywordLead: 2,
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'readme-api-token',
    description: 'ReadMe API key',
    pattern: /(?<![A-Za-z0-9])rdme_[a-z0-9]{70}(?![A-Za-z0-9])/g,
    keywords: ['dme_'],
    keywordLead: 1,
    verify: (v) => looksRandom(v.slice(5)),
  },
  {
    id: 'squarespace-access-token',
    description: 'Squarespace API key',
    pattern: new RegExp(providerAssignment(['squarespace'], [{ value: UUID }]), 'gi'),
    keywords: ['squarespace'],
    verify: looksRandom,
  },
  {
    id: 'typeform-api-token',
    description: 'Typeform personal access token',
    pattern: new RegExp(providerAssignment(['typeform'], [{ value: 'tfp_[a-z0-9_.=-]{59}' }]), 'gi'),
    keywords: ['ypeform'],
    keywordLead: 1,
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'okta-access-token',
    description: 'Okta API token',
    pattern: new RegExp(providerAssignment([OKTA.source], [{ value: '00[a-z0-9_=-]{40}' }]), 'gi'),
    keywords: OKTA.keywords,
    verify: entropyAtLeast(3.6),
  },
  {
    // `.acc_` / `.acc-` is the only literal, up to 46 characters into the key.
    id: 'authress-service-client-access-key',
    description: 'Authress service client access key',
    pattern: /(?<![A-Za-z0-9])(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_-][A-Za-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120}(?![A-Za-z0-9+/_=-])/g,
    keywords: ['.acc_', '.acc-'],
    keywordLead: 46,
    verify: entropyAtLeast(3),
  },
  {
    id: 'cisco-meraki-api-key',
    description: 'Cisco Meraki API key',
    pattern: new RegExp(providerAssignment(['meraki'], [{ value: '[0-9a-f]{40}' }]), 'gi'),
    keywords: ['meraki'],
    verify: looksRandom,
  },
]
