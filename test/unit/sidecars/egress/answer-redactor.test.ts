import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileAnswerSecrets, newTally, REDACTED_MARKER, type AnswerRedactor } from '../../../../sidecars/egress/answer-redactor.js'

// Generated per run: no credential-shaped literal in the repository.
const TOKEN = `tok_${randomBytes(18).toString('base64url')}`
const OTHER = `other/${randomBytes(12).toString('hex')}+"quoted"`
const PLACEHOLDER = 'bottle-placeholder-token-not-a-secret'
const SECRETS = new Map([
  ['api', TOKEN],
  ['db', OTHER],
])

function compiled() {
  const answers = compileAnswerSecrets(SECRETS, [PLACEHOLDER])
  if (!answers) throw new Error('expected secrets to compile')
  return answers
}

/** Stream `text` through a fresh redactor in the given pieces. */
function streamed(redactor: AnswerRedactor, pieces: readonly Buffer[]): { out: Buffer; tally: ReturnType<typeof newTally> } {
  const stream = redactor.stream()
  const out: Buffer[] = []
  for (const piece of pieces) out.push(stream.write(piece))
  out.push(stream.end())
  return { out: Buffer.concat(out), tally: stream.tally }
}

function base64Of(text: string): string {
  return Buffer.from(text).toString('base64').replace(/=+$/, '')
}

describe('compileAnswerSecrets', () => {
  it('is undefined when no value is long enough to redact', () => {
    expect(compileAnswerSecrets(new Map(), [PLACEHOLDER])).toBeUndefined()
    expect(compileAnswerSecrets(new Map([['short', 'abc']]), [])).toBeUndefined()
  })

  it('replaces the injected credential with the placeholder the agent sent, and other values with the marker', () => {
    const redactor = compiled().forRequest({ injectedSlot: 'api', agentHeaders: ['Authorization', `Bearer ${PLACEHOLDER}`] })
    const tally = newTally()
    const out = redactor.redactBytes(Buffer.from(`{"authorization":"Bearer ${TOKEN}","db":"x ${OTHER} y"}`), tally)
    expect(out.toString()).toBe(`{"authorization":"Bearer ${PLACEHOLDER}","db":"x ${REDACTED_MARKER} y"}`)
    expect(tally).toEqual({ 'injected-credential': 1, 'known-secret': 1 })
  })

  it('uses the marker for the injected credential when the agent sent no placeholder', () => {
    const redactor = compiled().forRequest({ injectedSlot: 'api', agentHeaders: ['Accept', '*/*'] })
    const tally = newTally()
    expect(redactor.redactBytes(Buffer.from(`a ${TOKEN} b`), tally).toString()).toBe(`a ${REDACTED_MARKER} b`)
    expect(tally['injected-credential']).toBe(1)
  })

  it('counts a value as known-secret on a request that did not carry it', () => {
    const tally = newTally()
    compiled().forRequest({ agentHeaders: ['Authorization', `Bearer ${PLACEHOLDER}`] }).redactBytes(Buffer.from(TOKEN), tally)
    expect(tally).toEqual({ 'injected-credential': 0, 'known-secret': 1 })
  })

  it('hands out the same redactor for the same request shape', () => {
    const answers = compiled()
    const headers = ['Authorization', `Bearer ${PLACEHOLDER}`]
    expect(answers.forRequest({ injectedSlot: 'api', agentHeaders: headers })).toBe(answers.forRequest({ injectedSlot: 'api', agentHeaders: [...headers] }))
    expect(answers.forRequest({ agentHeaders: [] })).toBe(answers.forRequest({ agentHeaders: headers }))
  })
})

describe('the spellings an echo uses', () => {
  const redactor = compileAnswerSecrets(SECRETS, [PLACEHOLDER])!.forRequest({ injectedSlot: 'api', agentHeaders: ['Authorization', `Bearer ${PLACEHOLDER}`] })
  const cases = [
    { name: 'as is', text: `x=${OTHER};`, gone: [OTHER] },
    { name: 'percent-encoded (upper-case hex)', text: `?next=${encodeURIComponent(OTHER)}&a=1`, gone: [encodeURIComponent(OTHER)] },
    { name: 'percent-encoded (lower-case hex)', text: `?next=${encodeURIComponent(OTHER).toLowerCase()}`, gone: [encodeURIComponent(OTHER).toLowerCase()] },
    { name: 'JSON-escaped', text: JSON.stringify({ v: OTHER }), gone: [JSON.stringify(OTHER).slice(1, -1)] },
    { name: 'JSON-escaped with \\/', text: `{"v":"${JSON.stringify(OTHER).slice(1, -1).replaceAll('/', '\\/')}"}`, gone: ['\\/'] },
    { name: 'base64 of Basic user:token', text: `Authorization: Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}`, gone: [base64Of(`me:${TOKEN}`).slice(4, -4)] },
    { name: 'base64 at the other alignment', text: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`, gone: [base64Of(`user:${TOKEN}`).slice(8, -4)] },
    { name: 'base64url', text: `jwt.${Buffer.from(`{"t":"${TOKEN}"}`).toString('base64url')}.sig`, gone: [Buffer.from(`{"t":"${TOKEN}"}`).toString('base64url').slice(8, -4)] },
  ]
  it.each(cases)('$name', ({ text, gone }) => {
    const tally = newTally()
    const out = redactor.redactBytes(Buffer.from(text), tally).toString()
    for (const piece of gone) expect(out).not.toContain(piece)
    expect(tally['injected-credential'] + tally['known-secret']).toBeGreaterThan(0)
  })

  it('writes the placeholder in the form of what it replaces', () => {
    const out = redactor.redactBytes(Buffer.from(`?t=${encodeURIComponent(`${TOKEN}`)}`), newTally()).toString()
    expect(out).toBe(`?t=${encodeURIComponent(PLACEHOLDER)}`)
  })

  it('redacts header values as Node presents them', () => {
    const tally = newTally()
    expect(redactor.redactHeader(`session=${TOKEN}; Path=/`, tally)).toBe(`session=${PLACEHOLDER}; Path=/`)
    expect(tally['injected-credential']).toBe(1)
    const clean = 'no secret here at all'
    expect(redactor.redactHeader(clean, newTally())).toBe(clean)
  })
})

describe('stream', () => {
  const redactor = compileAnswerSecrets(SECRETS, [])!.forRequest({ agentHeaders: [] })
  const body = Buffer.from(`{"a":"${TOKEN}","b":"${encodeURIComponent(OTHER)}","c":"${Buffer.from(`u:${TOKEN}`).toString('base64')}"} tail`)
  const whole = redactor.redactBytes(body, newTally())

  it('gives the same output however the body is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: body.length }), { maxLength: 6 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b)
        const pieces: Buffer[] = []
        let from = 0
        for (const at of points) {
          pieces.push(body.subarray(from, at))
          from = at
        }
        pieces.push(body.subarray(from))
        expect(streamed(redactor, pieces).out.equals(whole)).toBe(true)
      }),
    )
  })

  it('catches a value split at every byte', () => {
    const text = Buffer.from(`before ${TOKEN} after`)
    for (let at = 1; at < text.length; at++) {
      const { out, tally } = streamed(redactor, [text.subarray(0, at), text.subarray(at)])
      expect(out.toString()).toBe(`before ${REDACTED_MARKER} after`)
      expect(tally['known-secret']).toBe(1)
    }
  })

  it('holds back only the bytes that begin a secret', () => {
    const stream = redactor.stream()
    const clean = Buffer.from('data: {"delta":"hello"}\n\n')
    expect(stream.write(clean)).toBe(clean)
    const partial = Buffer.from(`data: ${TOKEN.slice(0, 6)}`)
    expect(stream.write(partial).toString()).toBe('data: ')
    expect(stream.write(Buffer.from(`${TOKEN.slice(6)}!`)).toString()).toBe(`${REDACTED_MARKER}!`)
    const unfinished = Buffer.from(TOKEN.slice(0, 5))
    expect(stream.write(unfinished).length).toBe(0)
    expect(stream.end().toString()).toBe(TOKEN.slice(0, 5))
  })
})
