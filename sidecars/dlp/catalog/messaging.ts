/**
 * Chat, email and customer messaging: Slack, Discord, Telegram, Microsoft
 * Teams, Mattermost, Twilio, SendGrid, Mailgun, Mailchimp, Brevo
 * (Sendinblue), MessageBird, Sendbird, Intercom, Zendesk. Formats as facts
 * from gitleaks' default config at commit b58d3f1 (MIT, see
 * LICENSE-gitleaks).
 */
import { Buffer } from 'node:buffer'
import type { CredentialPattern } from '../types.js'
import { UUID, entropyAtLeast, looksRandom, providerAssignment } from './shared.js'

/** Discord bot tokens start with the base64 of the bot's numeric snowflake id. */
function discordSnowflake(token: string): boolean {
  const first = token.slice(0, token.indexOf('.'))
  return /^\d{17,20}$/.test(Buffer.from(first, 'base64url').toString('latin1'))
}

export const MESSAGING_PATTERNS: readonly CredentialPattern[] = [
  {
    // Current tokens (`xoxb-<team>-<bot>-<secret>`) and legacy ones (`xoxb-<number>-<secret>`).
    id: 'slack-bot-token',
    description: 'Slack bot token',
    pattern: /(?<![A-Za-z0-9])xoxb-[0-9]{8,14}-(?:[0-9]{8,14}-[A-Za-z0-9]{20,32}|[A-Za-z0-9]{18,26}(?![A-Za-z0-9-]))(?![A-Za-z0-9])/g,
    keywords: ['xoxb-'],
    verify: (v) => looksRandom(v.slice(v.lastIndexOf('-') + 1)),
  },
  {
    id: 'slack-user-token',
    description: 'Slack user token',
    pattern: /(?<![A-Za-z0-9])xox[pe](?:-[0-9]{8,14}){3}-[A-Za-z0-9]{28,34}(?![A-Za-z0-9])/g,
    keywords: ['xoxp-', 'xoxe-'],
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
    pattern: /(?<![A-Za-z0-9-])(?:xox[os]-(?:[0-9]+-){1,8}[A-Za-z0-9]{10}[A-Za-z0-9]*|xox[ar]-(?:[0-9]+-){0,8}[A-Za-z0-9]{8}[A-Za-z0-9]*|xoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{60}[A-Za-z0-9]*|xoxe-[0-9]-[A-Za-z0-9-]{60}[A-Za-z0-9-]*)(?![A-Za-z0-9])/g,
    keywords: ['xoxa-', 'xoxo-', 'xoxr-', 'xoxs-', 'xoxe'],
  },
  {
    id: 'slack-webhook',
    description: 'Slack incoming webhook or workflow trigger URL',
    pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/T[A-Z0-9]{6}[A-Z0-9]*\/[A-Z0-9]{6}[A-Z0-9]*(?:\/[0-9]{6}[0-9]*)?\/[A-Za-z0-9]{20}[A-Za-z0-9]*/g,
    keywords: ['hooks.slack.com'],
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
    // Client ids are snowflakes, like channel and guild ids: only under a name that says `client`.
    id: 'discord-api-token',
    description: 'Discord API key, client id or client secret',
    pattern: new RegExp(providerAssignment(['discord'], [{ value: '[a-f0-9]{64}' }, { value: '[a-z0-9=_-]{32}' }, { value: '[0-9]{18}', nameHas: 'client' }]), 'gi'),
    keywords: ['discord'],
    verify: looksRandom,
  },
  {
    // The bot id (up to 16 digits) precedes `:AA`.
    id: 'telegram-bot-token',
    description: 'Telegram bot token',
    pattern: /(?<![0-9])[0-9]{5,16}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
    keywords: [':AA'],
    keywordLead: 16,
  },
  {
    id: 'microsoft-teams-webhook',
    description: 'Microsoft Teams incoming webhook URL',
    pattern: new RegExp(String.raw`webhook\.office\.com\/webhookb2\/${UUID}@${UUID}\/IncomingWebhook\/[a-z0-9]{32}\/${UUID}`, 'g'),
    keywords: ['ebhook.office.com'],
    keywordLead: 1,
  },
  {
    id: 'mattermost-access-token',
    description: 'Mattermost access token',
    pattern: new RegExp(providerAssignment(['mattermost'], [{ value: '[a-z0-9]{26}' }]), 'gi'),
    keywords: ['rmost'],
    keywordLead: 5,
    verify: looksRandom,
  },
  {
    id: 'twilio-api-key',
    description: 'Twilio API key',
    pattern: /(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])/g,
    keywords: ['SK'],
    verify: (v) => looksRandom(v.slice(2)),
  },
  {
    id: 'sendgrid-api-key',
    description: 'SendGrid API key',
    pattern: /(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    keywords: ['SG.'],
  },
  {
    // Private (`key-`) and public validation (`pubkey-`) keys, whose `pub` sits before the keyword.
    id: 'mailgun-api-key',
    description: 'Mailgun API key or public validation key',
    pattern: /(?<![A-Za-z0-9])(?:pub)?key-[0-9a-f]{32}(?![A-Za-z0-9])/g,
    keywords: ['key-'],
    keywordLead: 3,
    verify: (v) => looksRandom(v.slice(-32)),
  },
  {
    // Apart from the API keys: `key-` is common, and a context alternative would slow the regex every text with one runs.
    id: 'mailgun-signing-key',
    description: 'Mailgun webhook signing key',
    pattern: new RegExp(providerAssignment(['mailgun'], [{ value: '[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}' }]), 'gi'),
    keywords: ['mailgun'],
    verify: (v) => looksRandom(v.replace(/-/g, '')),
  },
  {
    // Literal first so the regex engine can skip to `-us`; the key itself, 32 characters before, is checked behind it.
    id: 'mailchimp-api-key',
    description: 'Mailchimp API key',
    pattern: /-us[0-9]{1,2}(?![A-Za-z0-9])(?<=(?<![A-Za-z0-9])([0-9a-f]{32})-us[0-9]{1,2})/g,
    keywords: ['-us'],
    keywordLead: 32,
    verify: looksRandom,
  },
  {
    id: 'sendinblue-api-token',
    description: 'Brevo (Sendinblue) API key',
    pattern: /(?<![A-Za-z0-9])xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}(?![A-Za-z0-9])/g,
    keywords: ['xkeysib-'],
    verify: entropyAtLeast(3),
  },
  {
    id: 'messagebird-api-token',
    description: 'MessageBird API key or client id',
    pattern: new RegExp(providerAssignment(['message[_-]?bird'], [{ value: '[a-z0-9]{25}' }, { value: UUID }]), 'gi'),
    keywords: ['ebird', 'e_bird', 'e-bird'],
    keywordLead: 6,
    verify: looksRandom,
  },
  {
    id: 'sendbird-access-token',
    description: 'Sendbird access token or application id',
    pattern: new RegExp(providerAssignment(['sendbird'], [{ value: UUID }, { value: '[a-f0-9]{40}' }]), 'gi'),
    keywords: ['dbird'],
    keywordLead: 3,
    verify: looksRandom,
  },
  {
    id: 'intercom-api-key',
    description: 'Intercom access token',
    pattern: new RegExp(providerAssignment(['intercom'], [{ value: '[a-z0-9=_-]{60}' }]), 'gi'),
    keywords: ['tercom'],
    keywordLead: 2,
    verify: entropyAtLeast(3.5),
  },
  {
    id: 'zendesk-secret-key',
    description: 'Zendesk API token',
    pattern: new RegExp(providerAssignment(['zendesk'], [{ value: '[a-z0-9]{40}' }]), 'gi'),
    keywords: ['zendesk'],
    verify: entropyAtLeast(3.5),
  },
]
