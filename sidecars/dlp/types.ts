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
  /**
   * Every match begins with one of `keywords` (case-insensitively), so the
   * regex need only be tried where a keyword starts rather than across the
   * whole text. Only for patterns whose regex opens with exactly that
   * alternation: a pattern with a common keyword (`pass`) then costs its
   * occurrences, not a pass over every body that mentions it once.
   */
  startsWithKeyword?: boolean
  /**
   * The most characters a match can hold before the start of the first
   * keyword occurrence inside it; absent or 0 when every match begins with
   * one of `keywords`. The search for secrets split across fields starts
   * its tries this far before a keyword (`join-scan.ts`).
   */
  keywordLead?: number
  /**
   * For patterns without keywords: a run of at least `length` characters of
   * the class `chars` (one ASCII character class) that every match contains.
   * Text without such a run skips the regex; finding one costs a probe every
   * `length` characters, not a pass.
   */
  requiresRun?: { chars: RegExp; length: number }
}

export interface CredentialMatch {
  rule: string
  /** UTF-16 offset and length of the credential in the text searched (never the text itself). */
  index: number
  length: number
  /** Found with the blanks inside it closed up (`token-gaps.ts`): the span holds them. */
  gapsClosed?: true
}

export interface ScannerOptions {
  /**
   * The bottle's own secret values, matched exactly: as is, as hex, as
   * base64/base64url at any alignment, and inside every normalized or
   * decoded layer. Values shorter than 8 characters are ignored (they would
   * match ordinary text; see `known-secrets.ts`).
   */
  knownSecrets?: readonly string[]
}

export interface BodyScanInput {
  contentType: string | undefined
  contentEncoding: string | undefined
  body: Uint8Array
}

export type BodyVerdict =
  | { ok: true; findings: DlpFinding[] }
  /** The body could not be parsed (compressed, malformed multipart, ...): callers fail closed. The reason never quotes the body or its headers. */
  | { ok: false; reason: string }

/**
 * Every method is pure and synchronous, and reports at most one finding per
 * rule and location. Besides credential rules, findings can carry
 * `known-secret`, `high-entropy-label`, `high-entropy-path-segment`, and
 * `scan-limit-exceeded` (the input nests encodings beyond the engine's
 * work budget; treat it like any other finding).
 */
export interface DlpScanner {
  /**
   * Free text (a header value, a diff line, a commit message), reported at
   * `location` as given. Context rules such as `password=...` need the name
   * and the value in the same text.
   */
  scanText(text: string, location: string): DlpFinding[]
  /**
   * A URL's userinfo (`<location>.userinfo`), path segments (`.path`), query
   * keys and values (`.query:<name>`, or `.query:#<index>` when the name
   * could itself be a secret) and fragment (`.fragment`), each normalized and
   * decoded, plus entropy checks on path segments. The host is not included:
   * scan it with `scanHost`. Default location `url`.
   */
  scanUrl(url: URL, location?: string): DlpFinding[]
  /**
   * Fields a receiver may concatenate, in order (header values, WebSocket
   * messages, the same field of consecutive requests): only what crosses a
   * field boundary is reported (see `join-scan.ts`), at `location`.
   */
  scanJoined(fields: readonly string[], location: string): DlpFinding[]
  /** A hostname: patterns and known secrets on the whole name (known secrets case-insensitively, across dots, and through punycode), and entropy per label. Default location `host`. */
  scanHost(host: string, location?: string): DlpFinding[]
  /**
   * A request body by content type. Locations: `<location>.json:<JSON path>`,
   * `.form:<field>`, `.multipart[<i>].content|name|filename|header:<name>`,
   * `.text`, `.binary`; names that could be secrets are replaced by
   * `#<index>`. Default location `body`.
   */
  scanBody(input: BodyScanInput, location?: string): BodyVerdict
}
