/** The DLP engine: normalize, detect, and report rule and location, never the value. */
export { createScanner, HIGH_ENTROPY_PATH_SEGMENT_RULE } from './scanner.js'
export { CREDENTIAL_PATTERNS, findCredentials } from './credential-patterns.js'
export { KNOWN_SECRET_RULE, SCAN_LIMIT_RULE } from './inspect-layers.js'
export { HIGH_ENTROPY_LABEL_RULE } from './scan-host.js'
export { MIN_KNOWN_SECRET_LENGTH } from './known-secrets.js'
export { normalize } from './normalize.js'
export type {
  BodyScanInput,
  BodyVerdict,
  CredentialMatch,
  CredentialPattern,
  DlpFinding,
  DlpScanner,
  ScannerOptions,
} from './types.js'
