/**
 * The start of a receive-pack request body (gitprotocol-pack(5)): optional
 * `shallow` lines, then the ref update commands (the first carries the
 * client's capabilities after a NUL), then a flush, then the pack. Reading
 * the commands lets the gate refuse a push in the protocol's own words (an
 * `ng` per ref, a `remote:` message) when it stops the push itself, such as
 * over the size cap, so git prints the reason instead of a bare HTTP error.
 */
import { FLUSH, pktLine, readPktLine, sideBand } from './pkt-line.js'

export interface ReceiveCommand {
  oldId: string
  newId: string
  ref: string
}

export interface ReceiveCommands {
  commands: ReceiveCommand[]
  capabilities: ReadonlySet<string>
}

export type CommandsRead =
  | { kind: 'complete'; value: ReceiveCommands }
  | { kind: 'incomplete' }
  /** Not a command list the gate can answer (a push certificate, garbage): refuse over HTTP instead. */
  | { kind: 'unreadable' }

const COMMAND = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/

export function readReceiveCommands(prefix: Buffer): CommandsRead {
  const commands: ReceiveCommand[] = []
  let capabilities = new Set<string>()
  let offset = 0
  for (;;) {
    const pkt = readPktLine(prefix, offset)
    if (pkt.kind === 'incomplete') return { kind: 'incomplete' }
    if (pkt.kind === 'flush') return commands.length > 0 ? { kind: 'complete', value: { commands, capabilities } } : { kind: 'unreadable' }
    if (pkt.kind !== 'data') return { kind: 'unreadable' }
    offset = pkt.next
    let line = pkt.payload.toString('latin1')
    if (line.endsWith('\n')) line = line.slice(0, -1)
    if (line.startsWith('shallow ')) continue
    const nul = line.indexOf('\0')
    if (nul !== -1) {
      if (commands.length === 0) capabilities = new Set(line.slice(nul + 1).split(' ').filter(Boolean))
      line = line.slice(0, nul)
    }
    const match = COMMAND.exec(line)
    if (!match) return { kind: 'unreadable' }
    commands.push({ oldId: match[1] as string, newId: match[2] as string, ref: match[3] as string })
  }
}

/**
 * A receive-pack result that refuses every ref: the message as a `remote:`
 * line (when the client takes side-band), `unpack <reason>` and `ng <ref>
 * <reason>` for each command (when it asked for a status report).
 */
export function receivePackRefusal(request: ReceiveCommands, message: string, reason: string): Buffer {
  const caps = request.capabilities
  const large = caps.has('side-band-64k')
  const sideband = large || caps.has('side-band')
  const wantsReport = caps.has('report-status') || caps.has('report-status-v2')
  const safeReason = reason.replace(/[\r\n]+/g, ' ')
  const report: Buffer[] = []
  if (wantsReport) {
    report.push(pktLine(`unpack ${safeReason}\n`))
    for (const command of request.commands) report.push(pktLine(`ng ${command.ref} ${safeReason}\n`))
    report.push(FLUSH)
  }
  if (!sideband) return Buffer.concat(report)
  return Buffer.concat([...sideBand(2, Buffer.from(`${message}\n`, 'utf8'), large), ...sideBand(1, Buffer.concat(report), large), FLUSH])
}
