import { once } from 'node:events'
import { createServer, connect, type AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { checkedLookup, checkLiteral, resolveChecked, type AddressCheck } from '../../../../sidecars/egress/dial.js'
import { EgressDenial } from '../../../../sidecars/egress/deny.js'
import { parseCidr, type Cidr } from '../../../../sidecars/egress/ip-address.js'
import { checkAddress } from '../../../../sidecars/egress/ssrf-guard.js'

const check =
  (...allow: string[]): AddressCheck =>
  (address) => {
    const verdict = checkAddress(address, allow.map((a) => parseCidr(a) as Cidr))
    return verdict.allowed ? undefined : new EgressDenial('ssrf', verdict.category)
  }

describe('resolveChecked', () => {
  const cases = [
    { name: 'public answer', answer: ['93.184.215.14'], allow: [], want: '93.184.215.14' },
    { name: 'several public answers', answer: ['93.184.215.14', '2606:2800:220:1::'], allow: [], want: '93.184.215.14,2606:2800:220:1::' },
    { name: 'loopback answer', answer: ['127.0.0.1'], allow: [], want: 'ssrf:loopback' },
    { name: 'one private answer among public ones', answer: ['93.184.215.14', '10.0.0.7'], allow: [], want: 'ssrf:private' },
    { name: 'metadata answer', answer: ['169.254.169.254'], allow: [], want: 'ssrf:metadata' },
    { name: 'mapped metadata answer', answer: ['::ffff:169.254.169.254'], allow: [], want: 'ssrf:metadata' },
    { name: 'private answer opened by allowPrivate', answer: ['10.0.0.7'], allow: ['10.0.0.0/24'], want: '10.0.0.7' },
    { name: 'empty answer', answer: [], allow: [], want: 'error:ENOTFOUND' },
  ]
  it.each(cases)('$name', async ({ answer, allow, want }) => {
    const got = await resolveChecked('name.test', check(...allow), async () => answer).then(
      (addresses) => addresses.join(','),
      (error: Error & { code?: string }) => (error instanceof EgressDenial ? `ssrf:${error.reason}` : `error:${error.code}`),
    )
    expect(got).toBe(want)
  })

  it('checks a literal without resolving it', async () => {
    let asked = false
    const got = await resolveChecked('10.0.0.1', check(), async () => {
      asked = true
      return ['8.8.8.8']
    }).catch((e: EgressDenial) => e.rule)
    expect(got).toBe('ssrf')
    expect(asked).toBe(false)
  })
})

describe('checkLiteral', () => {
  it.each([
    ['127.0.0.1', 'ssrf'],
    ['::1', 'ssrf'],
    ['8.8.8.8', 'ok'],
    ['example.test', 'ok'],
  ])('%s -> %s', (host, want) => {
    expect(checkLiteral(host, check())?.rule ?? 'ok').toBe(want)
  })
})

describe('checkedLookup', () => {
  it('connects to the address it checked, even when DNS changes its answer afterwards', async () => {
    const server = createServer((socket) => socket.end('hello'))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as AddressInfo).port
    // A rebinding resolver: the first answer is allowed, every later one points elsewhere.
    let calls = 0
    const lookup = checkedLookup(() => check('127.0.0.1/32'), async () => (calls++ === 0 ? ['127.0.0.1'] : ['10.9.9.9']))
    const socket = connect({ host: 'rebind.test', port, lookup })
    const [data] = (await once(socket, 'data')) as [Buffer]
    expect(data.toString()).toBe('hello')
    expect(socket.remoteAddress).toBe('127.0.0.1')
    expect(calls).toBe(1)
    socket.destroy()

    // The next connection resolves again, gets the rebound answer, and is refused before connecting.
    const second = connect({ host: 'rebind.test', port, lookup })
    const [error] = (await once(second, 'error')) as [EgressDenial]
    expect(error.rule).toBe('ssrf')
    server.close()
  })
})
