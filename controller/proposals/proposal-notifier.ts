/**
 * Posts each new Proposal (an agent's own or a draft from refusals) as one
 * JSON document to webhooks: the controller's `--notify URL` and the
 * Bottle's `notify.url`. A human learns there is something to decide, and
 * the command that decides it.
 *
 * The document carries names, the host, the paths asked for, the agent's
 * reason or the refusal counts, and the commands; never a secret value (a
 * proposal has passed the proposal rules, which refuse anything shaped like
 * a credential, before it exists). Webhook URLs often embed a secret of
 * their own, so logs name only the URL's host.
 *
 * Delivery is retried with exponential backoff on network errors, 429 and
 * 5xx; other answers are final. Failures are logged, never thrown: a
 * notification is a courtesy, the Proposal file is the record.
 */
import type { Logger } from 'pino'
import type { LogFields } from '../log-events.js'
import type { Proposal } from '../spec/generated/spec-types.js'
import type { SpecTree } from '../spec/load-spec-tree.js'

export interface ProposalNotice {
  type: 'bottle.proposal'
  proposal: string
  /** `agent`: the agent asked; `denial`: a draft from repeated refusals. */
  source: 'agent' | 'denial'
  agent: string
  bottle: string
  host: string
  paths?: string[]
  /** The agent's words (agent proposals only). */
  reason?: string
  /** The refusals a draft aggregates. */
  denials?: { count: number; firstSeen: string; lastSeen: string; samplePaths?: string[] }
  file: string
  approve: string
  reject: string
  createdAt?: string
}

/** The document posted for `proposal`, filed at `file` (relative to `dir`, the spec folder). */
export function proposalNotice(proposal: Proposal, file: string, dir: string): ProposalNotice {
  const { spec, metadata } = proposal
  const source = spec.source ?? 'agent'
  const where = ` --dir ${shellWord(dir)}`
  return {
    type: 'bottle.proposal',
    proposal: metadata.name,
    source,
    agent: spec.agent,
    bottle: spec.bottle,
    host: spec.route.host,
    ...(spec.route.paths ? { paths: [...spec.route.paths] } : {}),
    ...(source === 'agent' ? { reason: spec.reason } : {}),
    ...(spec.denials ? { denials: { ...spec.denials } } : {}),
    file,
    approve: `bottle approve ${metadata.name}${where}`,
    reject: `bottle reject ${metadata.name} --reason "..."${where}`,
    ...(metadata.creationTimestamp ? { createdAt: metadata.creationTimestamp } : {}),
  }
}

export interface NotifierOptions {
  log: Logger
  /** Retries after the first attempt. */
  retries?: number
  baseDelayMs?: number
  maxDelayMs?: number
  /** Per attempt. */
  timeoutMs?: number
  fetch?: typeof fetch
}

export type DeliveryOutcome = { delivered: true; attempts: number; status: number } | { delivered: false; attempts: number; error: string }

export class ProposalNotifier {
  readonly #inFlight = new Set<Promise<DeliveryOutcome>>()
  readonly #abort = new AbortController()

  constructor(private readonly options: NotifierOptions) {}

  /** Starts delivering `notice` to every URL (duplicates once each); returns at once. */
  notify(notice: ProposalNotice, urls: Iterable<string>): void {
    for (const url of new Set(urls)) {
      const delivery = this.deliver(notice, url)
      this.#inFlight.add(delivery)
      void delivery.finally(() => this.#inFlight.delete(delivery))
    }
  }

  /** Delivers to one URL, with retries; resolves with what happened (never rejects). */
  async deliver(notice: ProposalNotice, url: string): Promise<DeliveryOutcome> {
    const { log } = this.options
    const retries = this.options.retries ?? 4
    const target = hostOf(url)
    const body = JSON.stringify(notice)
    let lastError = ''
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      if (this.#abort.signal.aborted) break
      try {
        const response = await (this.options.fetch ?? fetch)(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'bottle-controller' },
          body,
          redirect: 'error',
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.options.timeoutMs ?? 5000)]),
        })
        await response.body?.cancel().catch(() => undefined)
        if (response.ok) {
          log.info({ event: 'proposal.notified', proposal: notice.proposal, target, status: response.status, attempts: attempt } satisfies LogFields, 'proposal notification delivered')
          return { delivered: true, attempts: attempt, status: response.status }
        }
        lastError = `HTTP ${response.status}`
        if (response.status !== 429 && response.status < 500) return this.#failed(notice, target, attempt, lastError)
      } catch (error) {
        // The message of a fetch failure may quote the URL; its cause's code does not.
        lastError = errorCode(error)
      }
      if (attempt <= retries) {
        log.debug({ event: 'proposal.notify-retry', proposal: notice.proposal, target, attempt, error: lastError } satisfies LogFields, 'proposal notification failed; retrying')
        await sleep(Math.min((this.options.baseDelayMs ?? 500) * 2 ** (attempt - 1), this.options.maxDelayMs ?? 30_000), this.#abort.signal)
      }
    }
    return this.#failed(notice, target, retries + 1, lastError || 'stopped')
  }

  /** Resolves when every delivery started so far has ended. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight])
  }

  /** Abandons retries waiting (the controller is stopping). */
  stop(): void {
    this.#abort.abort()
  }

  #failed(notice: ProposalNotice, target: string, attempts: number, error: string): DeliveryOutcome {
    this.options.log.warn({ event: 'proposal.notify-failed', proposal: notice.proposal, target, attempts, error } satisfies LogFields, 'proposal notification not delivered')
    return { delivered: false, attempts, error }
  }
}

/** `https://host[:port]/...` → `host[:port]`; the rest of a webhook URL may be a secret. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return '(invalid URL)'
  }
}

/** Whether `url` can be a webhook: http or https, without user:password. */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a URL'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be http:// or https://, not ${parsed.protocol}`
  if (parsed.username || parsed.password) return 'must not carry user:password'
  return undefined
}

function errorCode(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return error.name
    const cause = (error as { cause?: { code?: unknown } }).cause
    if (typeof cause?.code === 'string') return cause.code
    return error.name
  }
  return 'error'
}

function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    timer.unref()
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}

/** Where `proposal` is posted: the controller's webhooks and its Bottle's `notify.url`. */
export function notifyUrls(proposal: Proposal, tree: Pick<SpecTree, 'bottles'>, controllerUrls: readonly string[]): string[] {
  const own = tree.bottles.get(proposal.spec.bottle)?.spec.notify?.url
  return [...controllerUrls, ...(own && webhookUrlProblem(own) === undefined ? [own] : [])]
}
