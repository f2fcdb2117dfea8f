/**
 * The micro-VM foundation on a real QEMU: the guest kernel, initramfs and
 * the agent image's root filesystem boot to a guest agent, which runs
 * commands with their exit codes, stdin, env, working folder and user. The
 * guest reaches its bundle's forwarded port and nothing else: not the host's
 * services through slirp's gateway address, not slirp's DNS, not the
 * internet. A restarted controller adopts the running VM and reconnects to
 * its guest agent.
 *
 * Every "refused" probe has a control: the same probe code reaches the
 * forwarded port, and the host-side listeners it aims at are shown to work
 * from the host.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as tcpConnect, type AddressInfo, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { ensureInitramfs, ensureRootfs, findOnPath } from '../../../controller/runtime/vm/guest-assets.js'
import { GuestChannel } from '../../../controller/runtime/vm/guest-channel.js'
import { busyboxNcHelper, guestHostsFile } from '../../../controller/runtime/vm/guest-network.js'
import { probeHost } from '../../../controller/runtime/vm/host-probe.js'
import { vmSpecFor } from '../../../controller/runtime/vm/vm-box.js'
import { QemuVm, type VmSpec } from '../../../controller/runtime/vm/qemu-process.js'
import { docker, testLogger } from './docker-fixtures.js'

const BUNDLE_GUEST_PORT = 8080
const BUNDLE_NAMES = ['egress', 'git-gate', 'supervise']

let stateDir: string
let vm: QemuVm | undefined
let channel: GuestChannel | undefined
let bundle: Server
let bundlePort: number
const bundlePeers: string[] = []
let hostService: Server
let hostServicePort: number
const hostServicePeers: string[] = []
let hostUdp: UdpSocket
let hostUdpPort: number
const hostUdpPeers: string[] = []
let bootMs: number
let launchedSpec: VmSpec

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

/** Everything `stream` says until `text` appears in it (or it ends); rejects after 20 s with what it saw. */
function readUntil(stream: NodeJS.ReadableStream, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(text)} in ${JSON.stringify(seen)}`)), 20_000)
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8')
      if (seen.includes(text)) {
        stream.off('data', onData)
        clearTimeout(timer)
        resolve(seen)
      }
    }
    stream.on('data', onData)
    stream.once('end', () => {
      clearTimeout(timer)
      resolve(seen)
    })
  })
}

function requireChannel(): GuestChannel {
  if (channel === undefined) throw new Error('the guest channel is not connected')
  return channel
}

beforeAll(async () => {
  const host = await probeHost()
  if (!host.usable) throw new Error(`this host cannot run micro-VMs: ${host.reason}`)
  const busybox = findOnPath('busybox')
  if (busybox === undefined) throw new Error('busybox is not installed')

  const store = new DockerImageStore({ docker, logger: testLogger() })
  const image = await store.ensure({ kind: 'agent', provider: 'claude' })
  const [rootfs, initramfs] = await Promise.all([ensureRootfs(image, { docker }), ensureInitramfs(host.kernel)])

  bundle = createServer((socket) => {
    bundlePeers.push(`${socket.remoteAddress}:${socket.remotePort}`)
    socket.end('bundle says hi\n')
  })
  bundlePort = await listen(bundle)
  // A host service on loopback: what slirp's 10.0.2.2 would reach without restrict=on.
  hostService = createServer((socket) => {
    hostServicePeers.push(`${socket.remoteAddress}:${socket.remotePort}`)
    socket.end('host service\n')
  })
  hostServicePort = await listen(hostService)
  hostUdp = createSocket('udp4')
  hostUdp.on('message', (_message, peer) => hostUdpPeers.push(`${peer.address}:${peer.port}`))
  hostUdpPort = await new Promise<number>((resolve) => hostUdp.bind(0, '127.0.0.1', () => resolve(hostUdp.address().port)))

  stateDir = mkdtempSync('/tmp/bvm-')
  const started = Date.now()
  launchedSpec = { ...(await vmSpecFor(host, { initramfs, rootfs: rootfs.path }, busybox, [{ guestPort: BUNDLE_GUEST_PORT, host: '127.0.0.1', hostPort: bundlePort }])), cpus: 1, memoryMiB: 512 }
  vm = await QemuVm.launch(stateDir, launchedSpec)
  channel = await vm.connectGuest({ readyTimeoutMs: 60_000 })
  bootMs = Date.now() - started
  await channel.configure({ hosts: guestHostsFile('box', BUNDLE_NAMES), hostname: 'box', timeMs: Date.now() })
  process.stderr.write(`vm-guest: ${host.accelerator} boot to guest agent ${bootMs} ms\n`)
})

afterAll(async () => {
  channel?.close()
  await vm?.stop()
  await new Promise<void>((resolve) => (bundle ? bundle.close(() => resolve()) : resolve()))
  await new Promise<void>((resolve) => (hostService ? hostService.close(() => resolve()) : resolve()))
  hostUdp?.close()
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true })
})

describe('a micro-VM booted from the agent image', () => {
  it('runs the guest agent and reports its run state', async () => {
    expect(await vm?.status()).toBe('running')
    expect(bootMs).toBeGreaterThan(0)
  })

  it('returns exit codes', async () => {
    const c = requireChannel()
    expect((await c.exec(['true'])).exitCode).toBe(0)
    expect((await c.exec(['false'])).exitCode).toBe(1)
    expect((await c.exec(['sh', '-c', 'exit 7'])).exitCode).toBe(7)
    const missing = await c.exec(['/no/such/program'])
    expect(missing.exitCode).toBe(127)
    expect(missing.stderr).toContain('ENOENT')
  })

  it('feeds stdin and separates stdout from stderr', async () => {
    const result = await requireChannel().exec(['sh', '-c', 'cat; echo oops >&2'], { stdin: 'echo me\n' })
    expect(result).toEqual({ exitCode: 0, stdout: 'echo me\n', stderr: 'oops\n' })
  })

  it('applies env, working folder and user', async () => {
    const result = await requireChannel().exec(['sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g)"'], {
      env: { GREETING: 'hello' },
      cwd: '/home/agent',
      user: 'agent',
    })
    expect(result.stdout).toBe('hello /home/agent 1000:1000\n')
  })

  it('runs on the image root with a writable overlay and the identity it was given', async () => {
    const result = await requireChannel().exec([
      'sh',
      '-c',
      'test -x /usr/local/bin/bottle-agent-init && echo written >/etc/probe && cat /etc/probe && hostname && grep -c egress /etc/hosts',
    ])
    expect(result.stdout).toBe('written\nbox\n1\n')
  })

  it('copies files in, atomically and with their owner and mode, and out', async () => {
    const c = requireChannel()
    await c.putFiles([
      { path: '/etc/bottle/agent/prompt.md', data: 'do the thing\n', mode: 0o640, uid: 1000, gid: 1000 },
      { path: '/etc/bottle/agent/ca.pem', data: Buffer.from([0, 1, 2, 255]) },
    ])
    const listed = await c.exec(['sh', '-c', 'stat -c "%a %u:%g %s %n" /etc/bottle/agent/*; ls -a /etc/bottle/agent | grep -c bottle-put'])
    expect(listed.stdout).toBe('644 0:0 4 /etc/bottle/agent/ca.pem\n640 1000:1000 13 /etc/bottle/agent/prompt.md\n0\n')
    expect(await c.readFile('/etc/bottle/agent/ca.pem')).toEqual(Buffer.from([0, 1, 2, 255]))
    await expect(c.readFile('/no/such/file')).rejects.toThrow(/ENOENT/)
  })

  it('streams a running command: stdin in, output out, a signal to end it', async () => {
    const cat = requireChannel().start(['cat'])
    const echoed = readUntil(cat.stdout, 'ping\n')
    cat.write('ping\n')
    expect(await echoed).toBe('ping\n')
    cat.end()
    expect(await cat.exit).toEqual({ code: 0 })

    const sleeper = requireChannel().start(['sleep', '300'])
    sleeper.signal('SIGTERM')
    expect(await sleeper.exit).toEqual({ code: 143, signal: 'SIGTERM' })
  })

  it('runs a command on a terminal that can be resized', async () => {
    // The size given at start is the terminal's before the command runs; a resize follows it.
    const shell = requireChannel().start(['sh'], { tty: { columns: 100, rows: 30 }, user: 'agent' })
    const first = readUntil(shell.stdout, '/dev/pts/')
    shell.write('/run/bottle/busybox stty size; tty\n')
    expect(await first).toContain('30 100\r\n/dev/pts/')
    await shell.resize(120, 40)
    const second = readUntil(shell.stdout, '40 120')
    shell.write('/run/bottle/busybox stty size; exit 3\n')
    const seen = await second
    expect(seen).toContain('40 120')
    expect(await shell.exit).toEqual({ code: 3 })
  })

  it('kills a command when its exec is aborted', async () => {
    const controller = new AbortController()
    const running = requireChannel().exec(['sleep', '300'], { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('stop it')), 500)
    await expect(running).rejects.toThrow('stop it')
    // The kill reaches the guest shortly after the abort; pgrep exits 1 when nothing matches.
    let left = 0
    for (let i = 0; i < 20; i++) {
      left = (await requireChannel().exec(['pgrep', '-x', 'sleep'])).exitCode
      if (left === 1) break
    }
    expect(left).toBe(1)
  })
})

describe('the micro-VM network', () => {
  /**
   * One node run in the guest for every probe (node starts slowly under
   * emulation): each TCP probe prints "connected <first line>" or its error
   * code, the DNS probe the answer or its error, the UDP probe "sent".
   */
  async function probeFromGuest(): Promise<Record<string, string>> {
    const tcp = {
      bundleByName: ['egress', BUNDLE_GUEST_PORT],
      bundleByAlias: ['git-gate', BUNDLE_GUEST_PORT],
      hostServiceViaGateway: ['10.0.2.2', hostServicePort],
      bundleHostPortViaGateway: ['10.0.2.2', bundlePort],
      dnsTcp: ['10.0.2.3', 53],
      internet: ['1.1.1.1', 80],
      otherForwardAddressPort: ['10.0.2.100', BUNDLE_GUEST_PORT + 1],
    }
    const script = `
      const net = require('net'), dns = require('dns'), dgram = require('dgram')
      const tcp = ${JSON.stringify(tcp)}
      const out = {}
      const probes = Object.entries(tcp).map(([key, [host, port]]) => new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: 4000 })
        let data = ''
        s.on('data', (d) => { data += d })
        s.on('end', () => { out[key] = 'connected ' + data.split('\\n')[0]; resolve() })
        s.on('timeout', () => { out[key] = 'ETIMEDOUT'; s.destroy(); resolve() })
        s.on('error', (e) => { out[key] = e.code; resolve() })
      }))
      const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 })
      resolver.setServers(['10.0.2.3'])
      probes.push(resolver.resolve4('example.com').then((a) => { out.dnsUdp = 'answered ' + a }, (e) => { out.dnsUdp = e.code }))
      probes.push(new Promise((resolve) => {
        const u = dgram.createSocket('udp4')
        u.send('hello', ${hostUdpPort}, '10.0.2.2', (e) => { out.udpToHost = e ? e.code : 'sent'; u.close(); resolve() })
      }))
      Promise.all(probes).then(() => console.log(JSON.stringify(out)))`
    const result = await requireChannel().exec(['node', '-'], { stdin: script })
    expect(result.stderr).toBe('')
    return JSON.parse(result.stdout) as Record<string, string>
  }

  it('reaches the bundle port by its names and nothing else', async () => {
    const out = await probeFromGuest()
    // Controls: the forwarded port answers, by every bundle name.
    expect(out.bundleByName).toBe('connected bundle says hi')
    expect(out.bundleByAlias).toBe('connected bundle says hi')
    for (const key of ['hostServiceViaGateway', 'bundleHostPortViaGateway', 'dnsTcp', 'internet', 'otherForwardAddressPort']) {
      expect(out[key], key).not.toMatch(/^connected/)
    }
    expect(out.dnsUdp).not.toMatch(/^answered/)
    // Give a stray datagram time to arrive before saying none came.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(hostServicePeers).toEqual([])
    expect(hostUdpPeers).toEqual([])
    expect(bundlePeers.length).toBe(2)
  })

  it('has host-side listeners that work (the refusals above are not broken probes)', async () => {
    const line = await new Promise<string>((resolve, reject) => {
      const s = tcpConnect(hostServicePort, '127.0.0.1')
      let data = ''
      s.on('data', (d: Buffer) => (data += d.toString()))
      s.on('end', () => resolve(data))
      s.on('error', reject)
    })
    expect(line).toBe('host service\n')
    hostServicePeers.length = 0
  })
})

describe('a restarted controller', () => {
  it('adopts the running VM and reconnects to its guest agent', async () => {
    const first = vm
    if (first === undefined) throw new Error('no VM')
    requireChannel().close()
    first.qmp.close()
    const adopted = await QemuVm.adopt(stateDir)
    expect(adopted?.pid).toBe(first.pid)
    expect(await adopted?.status()).toBe('running')
    vm = adopted
    channel = await GuestChannel.connect(first.layout.agentSocket, { readyTimeoutMs: 10_000 })
    expect((await channel.exec(['sh', '-c', 'cat /etc/probe'])).stdout).toBe('written\n')
  })

  it('finds no VM in a folder whose QEMU is gone', async () => {
    const empty = mkdtempSync('/tmp/bvm-')
    try {
      expect(await QemuVm.adopt(empty)).toBeUndefined()
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })
})

describe('a snapshot of a running box', () => {
  it('restores into a new VM whose bundle port leads to another bundle', async () => {
    const original = vm
    if (original === undefined) throw new Error('no VM')
    requireChannel().close()
    const snapshot = `${stateDir}/snapshot.bin`
    await original.saveSnapshot(snapshot)
    await original.stop()

    // Another Agent's bundle: the same guest port, another host-side target.
    const other = createServer((socket) => socket.end('other bundle\n'))
    const otherPort = await listen(other)
    try {
      const host = await probeHost()
      if (!host.usable) throw new Error(host.reason)
      const busybox = findOnPath('busybox') ?? 'busybox'
      const restoredDir = mkdtempSync('/tmp/bvm-')
      const started = Date.now()
      try {
        vm = await QemuVm.launch(restoredDir, {
          ...launchedSpec,
          forwards: [{ guestPort: BUNDLE_GUEST_PORT, host: '127.0.0.1', hostPort: otherPort }],
          forwardHelper: busyboxNcHelper(busybox),
          incoming: snapshot,
        })
        await vm.runRestored()
        channel = await GuestChannel.connect(vm.layout.agentSocket, { readyTimeoutMs: 30_000 })
        const restoreMs = Date.now() - started
        await channel.configure({ hostname: 'box2', timeMs: Date.now(), seed: Buffer.alloc(32, 7) })
        process.stderr.write(`vm-guest: snapshot restore to guest agent ${restoreMs} ms\n`)
        // The writable layer came along; the identity is the new one.
        expect((await channel.exec(['sh', '-c', 'cat /etc/probe; hostname'])).stdout).toBe('written\nbox2\n')
        const reach = await channel.exec(['/run/bottle/busybox', 'nc', 'egress', String(BUNDLE_GUEST_PORT)])
        expect(reach.stdout).toBe('other bundle\n')
      } finally {
        channel?.close()
        channel = undefined
        await vm?.stop()
        vm = undefined
        rmSync(restoredDir, { recursive: true, force: true })
      }
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()))
    }
  })
})

describe('a guest that cannot start', () => {
  it("stops its VM, and the wait for it ends at once with the guest's reason", async () => {
    const failedDir = mkdtempSync('/tmp/bvm-')
    let failed: QemuVm | undefined
    try {
      failed = await QemuVm.launch(failedDir, { ...launchedSpec, guestNode: '/opt/missing/node' })
      const started = Date.now()
      await expect(failed.connectGuest({ readyTimeoutMs: 120_000 })).rejects.toThrow(
        'the VM stopped before its guest agent answered: bottle-init: the root filesystem has no /opt/missing/node to run the guest agent',
      )
      expect(Date.now() - started).toBeLessThan(60_000)
      expect(failed.alive()).toBe(false)
    } finally {
      await failed?.stop()
      rmSync(failedDir, { recursive: true, force: true })
    }
  })
})
