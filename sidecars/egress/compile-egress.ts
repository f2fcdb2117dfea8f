/**
 * From loaded files to a compiled config the proxy can enforce: the DLP scanner
 * knowing every secret value (so none can leave in a URL, header or body),
 * the same values compiled for redacting answers (so none comes back), the
 * policy, the leaf minter for the Agent's CA, and the trust store for origins
 * (the system bundle or Node's bundled roots, plus the config's extra CAs).
 */
import { readFileSync } from 'node:fs'
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls'
import type { DlpScanner, ScannerOptions } from '../dlp/types.js'
import { compileAnswerSecrets } from './answer-redactor.js'
import { createLeafCertificates } from './certificates.js'
import type { LoadedEgressFiles } from './load-config.js'
import { createEgressPolicy } from './policy.js'
import { withScanCache } from './scan-cache.js'
import type { CompiledEgress } from './proxy-context.js'
import type { FragmentWindows } from './fragment-window.js'
import type { DomainRateLimiter } from './rate-limit.js'

export interface CompileDependencies {
  createScanner: (options: ScannerOptions) => DlpScanner
  /** Shared across reloads so an edit never refills a budget. */
  limiter: DomainRateLimiter
  /** Shared across reloads so an edit never forgets the fragments already sent. */
  windows: FragmentWindows
  /** PEM bundle of the system's trusted CAs (read once at startup). */
  systemCaPem: string | undefined
}

export function compileEgress(files: LoadedEgressFiles, generation: number, deps: CompileDependencies): CompiledEgress {
  const scanner = withScanCache(deps.createScanner({ knownSecrets: [...files.secrets.values()] }))
  const policy = createEgressPolicy({ config: files.config, secrets: files.secrets, scanner, limiter: deps.limiter, windows: deps.windows })
  const leaves = files.ca ? createLeafCertificates({ ca: files.ca }) : undefined
  const answers = compileAnswerSecrets(files.secrets, files.config.placeholders)
  return { policy, leaves, upstreamTrust: upstreamTrust(deps.systemCaPem, files.config.upstreamCaCerts), configHash: files.configHash, generation, answers }
}

/** The system bundle when there is one (it is the Mozilla set plus local additions), else Node's bundled roots. */
function upstreamTrust(systemCaPem: string | undefined, extra: readonly string[]): SecureContext {
  const ca = systemCaPem ? [systemCaPem, ...extra] : [...rootCertificates, ...extra]
  return createSecureContext({ ca, minVersion: 'TLSv1.2' })
}

const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']

/** The system CA bundle: `SSL_CERT_FILE` when set, else the usual Debian / Fedora / Alpine paths. */
export function readSystemCaBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : SYSTEM_CA_FILES
  for (const path of candidates) {
    try {
      return readFileSync(path, 'utf8')
    } catch {
      // try the next location
    }
  }
  return undefined
}
