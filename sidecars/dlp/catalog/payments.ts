/**
 * Payments, commerce, shipping and finance: Stripe, Square, Shopify,
 * Flutterwave, GoCardless, Plaid, Finicity, Coinbase, Kraken, KuCoin,
 * Bittrex, Duffel, EasyPost, Shippo, Lob, Finnhub. Formats as facts from
 * gitleaks' default config at commit b58d3f1 (MIT, see LICENSE-gitleaks).
 */
import type { CredentialPattern } from '../types.js'
import { UUID, entropyAtLeast, hasUpperAndLower, looksRandom, providerAssignment, randomEnough, shortName } from './shared.js'

const LOB = shortName('lob')

export const PAYMENT_PATTERNS: readonly CredentialPattern[] = [
  {
    // Both cases, not a digit too: one 24-character key in 70 has no digit.
    id: 'stripe-secret-key',
    description: 'Stripe secret key',
    pattern: /(?<![A-Za-z0-9])sk_(?:live|test|prod)_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])/g,
    keywords: ['sk_live_', 'sk_test_', 'sk_prod_'],
    verify: (v) => hasUpperAndLower(v.slice(8)),
  },
  {
    id: 'stripe-restricted-key',
    description: 'Stripe restricted key',
    pattern: /(?<![A-Za-z0-9])rk_(?:live|test|prod)_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])/g,
    keywords: ['rk_live_', 'rk_test_', 'rk_prod_'],
    verify: (v) => hasUpperAndLower(v.slice(8)),
  },
  {
    id: 'stripe-webhook-secret',
    description: 'Stripe webhook signing secret',
    pattern: /(?<![A-Za-z0-9+/])whsec_[A-Za-z0-9+/]{32}[A-Za-z0-9+/]*(?![A-Za-z0-9+/])/g,
    keywords: ['whsec_'],
    verify: (v) => randomEnough(v.slice(6), 3.5),
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
    id: 'shopify-token',
    description: 'Shopify access token, custom app token or shared secret',
    pattern: /(?<![A-Za-z0-9])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])/g,
    keywords: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
  },
  {
    id: 'flutterwave-api-key',
    description: 'Flutterwave secret, public or encryption key',
    pattern: /(?<![A-Za-z0-9])(?:FLW(?:SECK|PUBK)(?:_TEST)?-[a-hA-H0-9]{32}-X|FLWSECK(?:_TEST)?-?[a-hA-H0-9]{12})(?![A-Za-z0-9])/g,
    keywords: ['FLWSECK', 'FLWPUBK'],
    verify: entropyAtLeast(3),
  },
  {
    id: 'gocardless-api-token',
    description: 'GoCardless access token',
    pattern: new RegExp(providerAssignment(['gocardless'], [{ value: '(?:live|sandbox)_[a-z0-9_=-]{40}' }]), 'gi'),
    keywords: ['gocardless'],
    verify: (v) => randomEnough(v.slice(v.indexOf('_') + 1), 3.5),
  },
  {
    id: 'plaid-api-token',
    description: 'Plaid access token, client id or secret',
    pattern: new RegExp(providerAssignment(['plaid'], [{ value: `access-(?:sandbox|development|production)-${UUID}` }, { value: '[a-z0-9]{24}' }, { value: '[a-z0-9]{30}' }]), 'gi'),
    keywords: ['plaid'],
    verify: (v) => looksRandom(v.startsWith('access-') ? v.slice(-36) : v),
  },
  {
    id: 'finicity-api-token',
    description: 'Finicity API token or client secret',
    pattern: new RegExp(providerAssignment(['finicity'], [{ value: '[a-f0-9]{32}' }, { value: '[a-z0-9]{20}' }]), 'gi'),
    keywords: ['nicity'],
    keywordLead: 2,
    verify: looksRandom,
  },
  {
    id: 'coinbase-access-token',
    description: 'Coinbase access token',
    pattern: new RegExp(providerAssignment(['coinbase'], [{ value: '[a-z0-9_-]{64}' }]), 'gi'),
    keywords: ['nbase'],
    keywordLead: 3,
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'kraken-access-token',
    description: 'Kraken API key or secret',
    pattern: new RegExp(providerAssignment(['kraken'], [{ value: '[a-z0-9/=_+-]{80,90}' }]), 'gi'),
    keywords: ['kraken'],
    verify: entropyAtLeast(4),
  },
  {
    id: 'kucoin-api-key',
    description: 'KuCoin API key or secret',
    pattern: new RegExp(providerAssignment(['kucoin'], [{ value: '[a-f0-9]{24}' }, { value: UUID }]), 'gi'),
    keywords: ['kucoin'],
    verify: looksRandom,
  },
  {
    id: 'bittrex-api-key',
    description: 'Bittrex API key or secret',
    pattern: new RegExp(providerAssignment(['bittrex'], [{ value: '[a-z0-9]{32}' }]), 'gi'),
    keywords: ['bittrex'],
    verify: looksRandom,
  },
  {
    id: 'duffel-api-token',
    description: 'Duffel API token',
    pattern: /(?<![A-Za-z0-9])duffel_(?:test|live)_[A-Za-z0-9_=-]{43}(?![A-Za-z0-9_=-])/g,
    keywords: ['duffel_test_', 'duffel_live_'],
    verify: (v) => randomEnough(v.slice(12), 3),
  },
  {
    id: 'easypost-api-token',
    description: 'EasyPost production or test API key',
    pattern: /(?<![A-Za-z0-9])EZ[AT]K[A-Za-z0-9]{54}(?![A-Za-z0-9])/g,
    keywords: ['EZAK', 'EZTK'],
    verify: entropyAtLeast(3),
  },
  {
    id: 'shippo-api-token',
    description: 'Shippo API token',
    pattern: /(?<![A-Za-z0-9])shippo_(?:live|test)_[a-fA-F0-9]{40}(?![A-Za-z0-9])/g,
    keywords: ['shippo_live_', 'shippo_test_'],
    verify: (v) => looksRandom(v.slice(12)),
  },
  {
    id: 'lob-api-key',
    description: 'Lob secret or publishable API key',
    pattern: new RegExp(providerAssignment([LOB.source], [{ value: '(?:live|test)_[a-f0-9]{35}' }, { value: '(?:live|test)_pub_[a-f0-9]{31}' }]), 'gi'),
    keywords: LOB.keywords,
    verify: (v) => looksRandom(v.slice(v.lastIndexOf('_') + 1)),
  },
  {
    id: 'finnhub-access-token',
    description: 'Finnhub access token',
    pattern: new RegExp(providerAssignment(['finnhub'], [{ value: '[a-z0-9]{20}' }]), 'gi'),
    keywords: ['nnhub'],
    keywordLead: 2,
    verify: looksRandom,
  },
]
