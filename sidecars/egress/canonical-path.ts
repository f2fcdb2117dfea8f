/**
 * The one path form that path-prefix routes are compared in.
 *
 * Origins disagree about what a path means: one decodes `%2F` into a
 * separator, another treats `\` as `/`, drops `;jsessionid=...` parameters,
 * merges `//`, or decodes twice (`%252F`). A prefix check on one reading and
 * a different reading at the origin is a way out of the prefix
 * (`/repos/me/..%2F..%2Fadmin`). So bottle does not guess which reading the
 * origin has: on a route with `paths`, a request path is allowed only when
 * every reading agrees, that is when the path already is its own canonical
 * form. Anything else is refused (`path-not-canonical`), and the path that
 * is forwarded is the one that was checked, byte for byte.
 *
 * The canonical form of a path:
 * 1. `%2F`, `%5C`, `%2E`, `%3B` and `%25` (any case) percent-decoded, to a
 *    fixpoint, so double encodings unwrap too;
 * 2. backslashes read as `/`;
 * 3. `;` parameters dropped from every segment;
 * 4. runs of `/` merged into one;
 * 5. `.` and `..` segments resolved (`..` never climbs above the root).
 *
 * Route prefixes must be canonical themselves (config and spec validation
 * say so), so matching is a plain segment-boundary prefix test.
 */

const ENCODED_DELIMITER = /%(?:2[fFeE5]|5[cC]|3[bB])/g
const MAX_DECODE_ROUNDS = 8

function decodeDelimiters(path: string): string {
  let current = path
  for (let round = 0; round < MAX_DECODE_ROUNDS && ENCODED_DELIMITER.test(current); round++) {
    ENCODED_DELIMITER.lastIndex = 0
    current = current.replace(ENCODED_DELIMITER, (m) => String.fromCharCode(parseInt(m.slice(1), 16)))
  }
  ENCODED_DELIMITER.lastIndex = 0
  return current
}

/** The canonical form of a URL path (see the module comment). Always starts with `/`. */
export function canonicalPath(path: string): string {
  const segments = decodeDelimiters(path).replace(/\\/g, '/').split('/')
  const out: string[] = []
  for (const raw of segments) {
    const semi = raw.indexOf(';')
    const segment = semi >= 0 ? raw.slice(0, semi) : raw
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      out.pop()
      continue
    }
    out.push(segment)
  }
  // A trailing separator (or a trailing dot segment) names a folder: keep it, as a prefix may end in `/`.
  const last = (segments[segments.length - 1] ?? '').split(';')[0]
  const folder = out.length > 0 && (last === '' || last === '.' || last === '..')
  return `/${out.join('/')}${folder ? '/' : ''}`
}

/** Is the path its own canonical form, so that every origin reads it the same way? */
export function isCanonicalPath(path: string): boolean {
  return canonicalPath(path) === path
}
