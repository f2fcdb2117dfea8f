/**
 * The engine's entry point: `createScanner` compiles the bottle's known
 * secrets once and returns a scanner whose calls are pure (no I/O, no
 * logging; only the memory for byte views outlives a call, scan-arena.ts)
 * and report rule ids and locations, never matched values.
 */
import { findCredentials } from './credential-patterns.js'
import { isHighEntropyPathSegment, isRandomLooking } from './entropy.js'
import { FindingCollector } from './findings.js'
import { inspectDocument } from './inspect-document.js'
import { decodeBudgetFor, detectLayer, inspectBelowSurface, type Detectors } from './inspect-layers.js'
import { compileKnownSecrets } from './known-secrets.js'
import { normalize } from './normalize.js'
import { duringScan } from './scan-arena.js'
import { inspectBody } from './scan-body.js'
import { inspectJoin, joinMatcher } from './join-scan.js'
import { inspectHost } from './scan-host.js'
import { urlDocument } from './url-document.js'
import type { DlpScanner, ScannerOptions } from './types.js'

export const HIGH_ENTROPY_PATH_SEGMENT_RULE = 'high-entropy-path-segment'
const URL_BASIC_AUTH_RULE = 'url-basic-auth'

/** JSON keys, form fields and query names appear in locations only when they cannot be a secret themselves. */
function safeNameCheck(detectors: Detectors): (name: string) => boolean {
  return (name) =>
    /^[A-Za-z0-9_$.-]{1,64}$/.test(name) &&
    !isRandomLooking(name.replace(/[^A-Za-z0-9]/g, ''), 16) &&
    detectLayer(name, detectors).length === 0
}

export function createScanner(options: ScannerOptions = {}): DlpScanner {
  const detectors: Detectors = { findCredentials, knownSecrets: compileKnownSecrets(options.knownSecrets ?? []) }
  const isSafeName = safeNameCheck(detectors)

  const scanner: DlpScanner = {
    scanText(text, location) {
      const collector = new FindingCollector()
      const budget = decodeBudgetFor(text.length)
      const report = (rule: string, encoding: string | undefined) => collector.add(rule, location, encoding)
      for (const hit of detectLayer(text, detectors)) report(hit.rule, hit.encoding)
      inspectBelowSurface(text, [], 0, detectors, budget, report)
      return collector.resolve(() => [])
    },

    scanUrl(url, location = 'url') {
      const collector = new FindingCollector()
      if (url.password !== '') collector.add(URL_BASIC_AUTH_RULE, `${location}.userinfo`, undefined)
      const userinfo = `${url.username}${url.password ? `:${url.password}` : ''}`
      const doc = urlDocument(url, location, isSafeName)
      const budget = decodeBudgetFor(doc.raw.length + userinfo.length)
      if (userinfo !== '') {
        const report = (rule: string, encoding: string | undefined) => collector.add(rule, `${location}.userinfo`, encoding)
        for (const hit of detectLayer(userinfo, detectors)) report(hit.rule, hit.encoding)
        inspectBelowSurface(userinfo, [], 0, detectors, budget, report)
      }
      inspectDocument(doc, detectors, collector, budget)
      if (doc.pathSegments.some((segment) => isHighEntropyPathSegment(normalize(segment)))) {
        collector.add(HIGH_ENTROPY_PATH_SEGMENT_RULE, `${location}.path`, undefined)
      }
      return collector.resolve(doc.locate)
    },

    scanJoined(fields, location) {
      const collector = new FindingCollector()
      inspectJoin(fields, detectors, joinMatcher(), (rule, encoding) => collector.add(rule, location, encoding))
      return collector.resolve(() => [])
    },

    scanHost(host, location = 'host') {
      const collector = new FindingCollector()
      inspectHost(host, location, detectors, collector, decodeBudgetFor(host.length))
      return collector.resolve(() => [])
    },

    scanBody(input, location = 'body') {
      const collector = new FindingCollector()
      const parsed = inspectBody(input, location, detectors, isSafeName, collector, decodeBudgetFor(input.body.byteLength))
      if (!parsed.ok) return { ok: false, reason: parsed.reason }
      return { ok: true, findings: collector.resolve(parsed.doc.locate) }
    },
  }
  // Every call is one scan for the arena: its byte views are reused by the next call.
  return {
    scanText: (text, location) => duringScan(() => scanner.scanText(text, location)),
    scanUrl: (url, location) => duringScan(() => scanner.scanUrl(url, location)),
    scanJoined: (fields, location) => duringScan(() => scanner.scanJoined(fields, location)),
    scanHost: (host, location) => duringScan(() => scanner.scanHost(host, location)),
    scanBody: (input, location) => duringScan(() => scanner.scanBody(input, location)),
  }
}
