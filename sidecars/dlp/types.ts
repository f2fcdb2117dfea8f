/**
 * The DLP engine's contract. The engine is pure: normalize, detect, return a
 * verdict naming the rule and where it matched, never the matched value.
 * It is shared by the egress proxy (URLs, headers, bodies), the git gate
 * (pushed diffs and commit messages) and the spec loader (literal secrets in
 * specs).
 */

/** One thing the engine found. It never carries the matched text. */
export interface DlpFinding {
  /** Stable rule id, e.g. `aws-access-key-id`, `github-pat`, `known-secret`, `high-entropy-label`. */
  rule: string
  /** Where it was found, in the caller's vocabulary: `url.path`, `header:x-api-key`, `body.json:$.a.b`, `src/app.ts:12`. */
  location: string
  /** How the value was hidden, when it was: `base64`, `hex`, `url-encoded`, `zero-width` ... */
  encoding?: string
}

/** A credential format the engine knows by shape. */
export interface CredentialPattern {
  id: string
  /** Human name for messages: "GitHub personal access token". */
  description: string
  /**
   * Global, sticky-free regex over the (normalized) text. When it has capture
   * groups, the first group that took part in the match is the credential
   * itself (the rest is context such as `password=`), and that group is what
   * `verify` receives and what a `CredentialMatch` spans.
   */
  pattern: RegExp
  /** Format checksum or structural check where the format has one (CRC32 of GitHub tokens, Luhn, ...). */
  verify?: (match: string) => boolean
  /**
   * Literal strings of which at least one occurs in every match: a prefilter
   * that lets the engine skip the regex on text that cannot match. Compared
   * case-insensitively when `pattern` has the `i` flag. Absent: always run.
   */
  keywords?: readonly string[]
}

export interface CredentialMatch {
  rule: string
  /** UTF-16 offset and length of the credential in the text searched (never the text itself). */
  index: number
  length: number
}

export interface ScannerOptions {
  /** The bottle's own secret values, matched exactly (also after normalization). */
  knownSecrets?: readonly string[]
}

export interface BodyScanInput {
  contentType: string | undefined
  contentEncoding: string | undefined
  body: Uint8Array
}

export type BodyVerdict =
  | { ok: true; findings: DlpFinding[] }
  /** The body could not be parsed (compressed, malformed multipart, ...): callers fail closed. */
  | { ok: false; reason: string }

export interface DlpScanner {
  /** Free text (a header value, a diff line, a commit message). */
  scanText(text: string, location: string): DlpFinding[]
  /** A URL: path segments and query keys and values, each normalized, plus entropy checks on path segments. */
  scanUrl(url: URL, location?: string): DlpFinding[]
  /** A hostname: patterns on the whole name and entropy checks per label. */
  scanHost(host: string, location?: string): DlpFinding[]
  /** A request body by content type: JSON keys and values, form fields, multipart parts and filenames, text. */
  scanBody(input: BodyScanInput, location?: string): BodyVerdict
}
