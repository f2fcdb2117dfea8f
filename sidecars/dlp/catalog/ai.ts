/**
 * AI model providers: Anthropic, OpenAI, OpenRouter, Groq, xAI, Perplexity,
 * Replicate, Hugging Face, Cohere, Private AI. Formats as facts from
 * gitleaks' default config at commit b58d3f1 (MIT, see LICENSE-gitleaks)
 * and the providers' own documentation.
 */
import type { CredentialPattern } from '../types.js'
import { entropyAtLeast, hasUpperAndLower, hasUpperLowerDigit, providerAssignment, randomEnough } from './shared.js'

export const AI_PATTERNS: readonly CredentialPattern[] = [
  {
    // API (`api03`), admin (`admin01`) and OAuth keys: `sk-ant-<kind><version>-<body>`.
    id: 'anthropic-api-key',
    description: 'Anthropic API key',
    pattern: /(?<![A-Za-z0-9_-])sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{32}[A-Za-z0-9_-]*(?![A-Za-z0-9_-])/g,
    keywords: ['sk-ant-'],
  },
  {
    // Legacy and project keys carry "T3BlbkFJ" (base64 of "OpenAI"); project, service-account and admin keys also have a prefix.
    // The marker sits at most 3 + 120 characters into a legacy-form match.
    id: 'openai-api-key',
    description: 'OpenAI API key',
    pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40}[A-Za-z0-9_-]*|[A-Za-z0-9_-]{16,120}T3BlbkFJ[A-Za-z0-9_-]{16}[A-Za-z0-9_-]*)(?![A-Za-z0-9_-])/g,
    keywords: ['T3BlbkFJ', 'sk-proj-', 'sk-svcacct-', 'sk-admin-'],
    keywordLead: 123,
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
    // Both cases, not a digit too: one key in 10^4 has no digit, one in 10^12 lacks a case.
    verify: hasUpperAndLower,
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
    verify: hasUpperAndLower,
  },
  {
    id: 'huggingface-token',
    description: 'Hugging Face access or organization token',
    pattern: /(?<![A-Za-z0-9])(?:hf_|api_org_)[A-Za-z]{34}(?![A-Za-z0-9])/g,
    keywords: ['hf_', 'api_org_'],
    verify: (v) => hasUpperAndLower(v.slice(v.length - 34)),
  },
  {
    id: 'cohere-api-token',
    description: 'Cohere API key',
    pattern: new RegExp(providerAssignment(['cohere', 'co_api_key'], [{ value: '[a-z0-9]{40}' }]), 'gi'),
    keywords: ['ohere', 'o_api_key'],
    keywordLead: 1,
    verify: (v) => hasUpperAndLower(v) && randomEnough(v, 3.6),
  },
  {
    id: 'privateai-api-token',
    description: 'Private AI API key',
    pattern: new RegExp(providerAssignment(['private[_-]?ai'], [{ value: '[a-z0-9]{32}' }]), 'gi'),
    keywords: ['ivateai', 'ivate_ai', 'ivate-ai'],
    keywordLead: 2,
    verify: entropyAtLeast(3),
  },
]
