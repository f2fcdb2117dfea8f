/**
 * A hostname: credential patterns and known secrets on the whole name (known
 * secrets case-insensitively and across the dots, since DNS folds case and a
 * value can be split over labels), its Unicode form when it has punycode
 * labels, and the entropy of each label (see `entropy.ts` for thresholds).
 */
import { domainToUnicode } from 'node:url'
import type { DecodeBudget } from './decode-variants.js'
import { hasHighEntropySplitLabels, isHighEntropyLabel } from './entropy.js'
import type { FindingCollector } from './findings.js'
import { detectLayer, inspectBelowSurface, KNOWN_SECRET_RULE, type Detectors } from './inspect-layers.js'
import { inspectJoin, joinMatcher } from './join-scan.js'
import { normalize } from './normalize.js'

export const HIGH_ENTROPY_LABEL_RULE = 'high-entropy-label'

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/

export function inspectHost(host: string, location: string, detectors: Detectors, collector: FindingCollector, budget: DecodeBudget): void {
  let name = host.trim()
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1)
  if (name.endsWith('.')) name = name.slice(0, -1)
  const report = (rule: string, encoding: string | undefined) => collector.add(rule, location, encoding)

  for (const hit of detectLayer(name, detectors)) report(hit.rule, hit.encoding)
  inspectBelowSurface(name, [], 0, detectors, budget, report)
  const inName = detectors.knownSecrets.findInHostname(name)
  if (inName) report(KNOWN_SECRET_RULE, inName.encoding)

  // Punycode labels are judged by what they spell, not by their (random-looking) ASCII form.
  let readable = name
  if (/(?:^|\.)xn--/i.test(name)) {
    const unicode = domainToUnicode(name)
    if (unicode !== '' && unicode !== name) {
      for (const hit of detectLayer(unicode, detectors)) report(hit.rule, hit.encoding ? `punycode+${hit.encoding}` : 'punycode')
      inspectBelowSurface(unicode, ['punycode'], 0, detectors, budget, report)
      readable = normalize(unicode)
      const inUnicode = detectors.knownSecrets.findInHostname(readable)
      if (inUnicode) report(KNOWN_SECRET_RULE, inUnicode.encoding ? `punycode+${inUnicode.encoding}` : 'punycode')
    }
  }

  if (IPV4.test(name) || name.includes(':')) return
  // Labels of any length are fields a receiver may concatenate (`akiaiosf.odnn7exa.mple.x.example.com`);
  // DNS folds case, so formats written in upper case (AWS key ids) are looked for in upper case too.
  for (const hit of detectLayer(name.toUpperCase(), detectors)) report(hit.rule, hit.encoding ? `upper-case+${hit.encoding}` : 'upper-case')
  const rawLabels = name.split('.')
  inspectJoin(rawLabels, detectors, joinMatcher(), report)
  inspectJoin(rawLabels.map((l) => l.toUpperCase()), detectors, joinMatcher(), report)
  const labels = readable.toLowerCase().split('.')
  if (labels.some(isHighEntropyLabel) || hasHighEntropySplitLabels(labels)) report(HIGH_ENTROPY_LABEL_RULE, undefined)
}
