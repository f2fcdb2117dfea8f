import { describe, expect, it } from 'vitest'
import { FLUSH, pktLine, readPktLine, sideBand } from '../../../../sidecars/git-gate/pkt-line.js'
import { readReceiveCommands, receivePackRefusal } from '../../../../sidecars/git-gate/receive-pack-request.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const Z = '0'.repeat(40)

describe('pkt-line', () => {
  it('frames payloads with their length', () => {
    expect(pktLine('hello\n').toString()).toBe('000ahello\n')
    expect(readPktLine(Buffer.from('000ahello\n0000'), 0)).toEqual({ kind: 'data', payload: Buffer.from('hello\n'), next: 10 })
    expect(readPktLine(Buffer.from('0000'), 0)).toEqual({ kind: 'flush', next: 4 })
  })

  const reads = [
    { name: 'short header', input: '00', want: 'incomplete' },
    { name: 'short payload', input: '000ahel', want: 'incomplete' },
    { name: 'non-hex length', input: 'zzzzhello', want: 'invalid' },
    { name: 'length 3', input: '0003', want: 'invalid' },
    { name: 'delimiter', input: '0001', want: 'delim' },
  ]
  it.each(reads)('reads $name as $want', ({ input, want }) => {
    expect(readPktLine(Buffer.from(input), 0).kind).toBe(want)
  })

  it('splits side-band data to the packet size the client asked for', () => {
    const data = Buffer.alloc(2000, 0x61)
    const small = sideBand(2, data, false)
    expect(small).toHaveLength(3)
    expect(small.every((p) => p.length <= 1000 && p[4] === 2)).toBe(true)
    expect(sideBand(1, data, true)).toHaveLength(1)
  })
})

describe('readReceiveCommands', () => {
  it('reads the commands and the first line’s capabilities', () => {
    const body = Buffer.concat([pktLine(`${A} ${B} refs/heads/main\0report-status side-band-64k agent=git/2.39\n`), pktLine(`${Z} ${B} refs/tags/v1\n`), FLUSH, Buffer.from('PACK...')])
    expect(readReceiveCommands(body)).toEqual({
      kind: 'complete',
      value: {
        commands: [
          { oldId: A, newId: B, ref: 'refs/heads/main' },
          { oldId: Z, newId: B, ref: 'refs/tags/v1' },
        ],
        capabilities: new Set(['report-status', 'side-band-64k', 'agent=git/2.39']),
      },
    })
  })

  const others = [
    { name: 'a partial command list', body: pktLine(`${A} ${B} refs/heads/main\0report-status\n`), want: 'incomplete' },
    { name: 'shallow lines first', body: Buffer.concat([pktLine(`shallow ${A}\n`), pktLine(`${A} ${B} refs/heads/x\0\n`), FLUSH]), want: 'complete' },
    { name: 'a push certificate', body: Buffer.concat([pktLine('push-cert\0report-status\n'), FLUSH]), want: 'unreadable' },
    { name: 'garbage', body: Buffer.from('GET / HTTP/1.1\r\n'), want: 'unreadable' },
    { name: 'a bare flush', body: FLUSH, want: 'unreadable' },
  ]
  it.each(others)('reads $name as $want', ({ body, want }) => {
    expect(readReceiveCommands(body).kind).toBe(want)
  })
})

describe('receivePackRefusal', () => {
  const commands = [{ oldId: A, newId: B, ref: 'refs/heads/main' }, { oldId: Z, newId: B, ref: 'refs/heads/x' }]

  it('says why on side-band 2 and refuses every ref in the status report', () => {
    const body = receivePackRefusal({ commands, capabilities: new Set(['report-status', 'side-band-64k']) }, 'bottle-git-gate: refused push: too big', 'pack too big')
    const packets: Array<{ band: number; text: string }> = []
    for (let offset = 0; ; ) {
      const pkt = readPktLine(body, offset)
      if (pkt.kind !== 'data') break
      packets.push({ band: pkt.payload[0] as number, text: pkt.payload.subarray(1).toString() })
      offset = pkt.next
    }
    expect(packets[0]).toEqual({ band: 2, text: 'bottle-git-gate: refused push: too big\n' })
    const report = packets.filter((p) => p.band === 1).map((p) => p.text).join('')
    expect(report).toBe(`${pktLine('unpack pack too big\n')}${pktLine('ng refs/heads/main pack too big\n')}${pktLine('ng refs/heads/x pack too big\n')}0000`)
    expect(body.subarray(-4).toString()).toBe('0000')
  })

  it('without side-band, is the plain status report', () => {
    const body = receivePackRefusal({ commands, capabilities: new Set(['report-status']) }, 'message', 'reason\nwith break')
    expect(body.toString()).toBe(`${pktLine('unpack reason with break\n')}${pktLine('ng refs/heads/main reason with break\n')}${pktLine('ng refs/heads/x reason with break\n')}0000`)
  })
})
