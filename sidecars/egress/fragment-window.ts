/**
 * Secrets split across requests: `?q=AKIAIOSF` now, `?q=ODNN7EXA` next,
 * `MPLE...` after that, or one DNS label per tunnel. No single request holds
 * the secret; the origin (or the DNS server behind it) concatenates them.
 *
 * For each base domain the proxy keeps, per channel, the recent values the
 * agent sent there, and every request that brings a new value is scanned as
 * the join of that channel's recent values ending with the new one
 * (`DlpScanner.scanJoined`, which reports only what crosses a value
 * boundary). The request that would complete a secret is refused, so the
 * origin never holds more than a fragment.
 *
 * Channels: the subdomain labels a wildcard route lets vary, each path
 * segment by position and the last one, each query parameter by name, each
 * request header by name, and `any`: every value that changed, in the order
 * sent, for an agent that moves the pieces between fields.
 *
 * A value equal to the channel's previous one adds nothing and is skipped,
 * so the constant headers of ordinary traffic cost one comparison.
 *
 * Memory bound: at most WINDOW_LIMITS.domains base domains (least recently
 * used dropped), each with at most `channels` channels (least recently
 * changed dropped), each holding at most `values` values of at most
 * `valueChars` characters: 32 x 32 x 8 x 256 characters (2 Mi characters,
 * 4 MiB) at the very worst, a few KiB for real traffic.
 */

export const WINDOW_LIMITS = {
  domains: 32,
  channels: 32,
  /** Values per channel: a secret split into more pieces than this is not reassembled. */
  values: 8,
  /** Longer values keep their head and tail: a piece of a split secret is short, or its edges are what joins. */
  valueChars: 256,
} as const

export interface Fragment {
  channel: string
  value: string
}

/** One channel's recent values, oldest first, ending with the value just sent. */
export interface ChannelJoin {
  channel: string
  values: string[]
}

interface Channel {
  values: string[]
}

function clip(value: string): string {
  const half = WINDOW_LIMITS.valueChars / 2
  return value.length <= WINDOW_LIMITS.valueChars ? value : `${value.slice(0, half)}${value.slice(-half)}`
}

export class FragmentWindows {
  private readonly domains = new Map<string, Map<string, Channel>>()
  /** Per base domain, what the last request that was looked at sent, so a repeat costs one comparison. */
  private readonly lastSent = new Map<string, string>()

  /**
   * Was exactly this (`fingerprint`: the URL and headers of a request) the
   * last request let through to `domain`? Clients repeat themselves: a
   * repeat brings no new value to any channel, so there is nothing to join
   * or record.
   */
  repeats(domain: string, fingerprint: string): boolean {
    return this.lastSent.get(domain) === fingerprint
  }

  /** Note what a request that was let through sent (only those: a refused one must be judged again). */
  sent(domain: string, fingerprint: string): void {
    if (this.lastSent.size >= WINDOW_LIMITS.domains && !this.lastSent.has(domain)) this.lastSent.delete(this.lastSent.keys().next().value as string)
    this.lastSent.set(domain, fingerprint)
  }

  /**
   * The joins one request to `domain` would make: for every channel its
   * fragments bring a new value to, the channel's recent values, oldest
   * first, ending with the new one (only channels with two or more). Nothing
   * is recorded until `commit` is called, which the policy does only for a
   * request it lets through: the pieces of a refused request never reached
   * the origin, so later requests are not joined to them.
   */
  preview(domain: string, fragments: readonly Fragment[]): { joins: ChannelJoin[]; commit: () => void } {
    const channels = this.domains.get(domain)
    const joins: ChannelJoin[] = []
    if (!channels) return { joins, commit: () => this.record(domain, fragments) }
    const changed: string[] = []
    const recentOf = (name: string) => channels?.get(name)?.values ?? []
    for (const { channel, value } of fragments) {
      if (value === '') continue
      const clipped = clip(value)
      const recent = recentOf(channel)
      if (recent[recent.length - 1] === clipped) continue
      changed.push(clipped)
      if (recent.length >= 1) joins.push({ channel, values: [...recent.slice(1 - WINDOW_LIMITS.values), clipped] })
    }
    if (changed.length > 0) {
      const any = [...recentOf('any')]
      for (const value of changed) if (any[any.length - 1] !== value) any.push(value)
      const kept = any.slice(-WINDOW_LIMITS.values)
      if (kept.length >= 2) joins.push({ channel: 'any', values: kept })
    }
    // Nothing new (the same request again): nothing to record either.
    return { joins, commit: changed.length > 0 ? () => this.record(domain, fragments) : () => undefined }
  }

  /** Append a request's new values (see `preview`). */
  record(domain: string, fragments: readonly Fragment[]): void {
    let channels = this.domains.get(domain)
    if (channels) this.domains.delete(domain)
    else channels = new Map()
    this.domains.set(domain, channels)
    if (this.domains.size > WINDOW_LIMITS.domains) this.domains.delete(this.domains.keys().next().value as string)
    const changed: string[] = []
    for (const { channel, value } of fragments) {
      if (value === '') continue
      const clipped = clip(value)
      if (this.push(channels, channel, clipped)) changed.push(clipped)
    }
    for (const value of changed) this.push(channels, 'any', value)
  }

  /** Append a value unless it repeats the channel's last. True when appended. */
  private push(channels: Map<string, Channel>, name: string, value: string): boolean {
    let channel = channels.get(name)
    if (channel && channel.values[channel.values.length - 1] === value) return false
    if (channel) channels.delete(name)
    else channel = { values: [] }
    channels.set(name, channel)
    if (channels.size > WINDOW_LIMITS.channels) channels.delete(channels.keys().next().value as string)
    channel.values.push(value)
    if (channel.values.length > WINDOW_LIMITS.values) channel.values.shift()
    return true
  }
}

/**
 * The labels a wildcard route lets vary, dots removed. DNS folds case, so
 * they also go in upper case, where formats written in upper case (AWS key
 * ids) are found.
 */
export function subdomainFragments(subdomain: string): Fragment[] {
  if (subdomain === '') return []
  const value = subdomain.replace(/\./g, '')
  return [
    { channel: 'subdomain', value },
    { channel: 'subdomain-upper', value: value.toUpperCase() },
  ]
}

/** Headers whose values vary with every request and cannot carry a chosen string. */
const UNCHOSEN_HEADERS = new Set(['host', 'content-length'])

/**
 * The fragments of one request: `subdomain` is the part of the host a
 * wildcard route lets vary (empty for exact routes), `url` the parsed URL,
 * `headers` the flat raw list as it will leave (before any credential).
 */
export function requestFragments(subdomain: string, url: URL, headers: readonly string[]): Fragment[] {
  const out: Fragment[] = []
  // Headers first: most of them are the same on every request, and a first request's constant values
  // then sit before, not between, the pieces an agent moves from field to field (the `any` channel).
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase()
    if (!UNCHOSEN_HEADERS.has(name)) out.push({ channel: `header:${name.slice(0, 64)}`, value: headers[i + 1] as string })
  }
  out.push(...subdomainFragments(subdomain))
  const segments = url.pathname.split('/').filter((s) => s !== '')
  segments.slice(0, 8).forEach((segment, i) => out.push({ channel: `path[${i}]`, value: segment }))
  if (segments.length > 0) out.push({ channel: 'path[last]', value: segments[segments.length - 1] as string })
  for (const [name, value] of url.searchParams) out.push({ channel: `query:${name.slice(0, 64)}`, value })
  return out
}
