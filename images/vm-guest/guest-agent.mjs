// The guest agent: the box's process supervisor inside a bottle micro-VM.
// The initramfs copies it to /run/bottle and PID 1 runs it with the image's
// own node, so it needs nothing but node's standard library.
//
// It speaks to the host over the virtio-serial ports named `bottle.agent`
// and `bottle.agent.N` (QEMU serves one host connection per port: the
// controller keeps the first, commands take a spare one), in frames of a 4-byte big-endian length followed by that many bytes of UTF-8
// JSON (the host side is controller/runtime/vm/guest-channel.ts, which also
// defines the message shapes). Host to guest:
//   {id, op: 'ping'}
//   {id, op: 'exec', argv, env?, cwd?, user?, stdin? (base64), keepStdinOpen?,
//        tty?: {columns, rows}}
//   {id, op: 'resize', columns, rows}
//   {id, op: 'stdin', data? (base64), eof?}
//   {id, op: 'signal', signal}
//   {id, op: 'configure', hosts?, hostname?, timeMs?, seed? (base64),
//        mounts?: [{serial, target, readOnly?}]}
//   {id, op: 'sync'}
//   {id, op: 'put', files: [{path, data (base64), mode?, uid?, gid?}]}
//   {id, op: 'get', path}
// Guest to host:
//   {id, type: 'pong', uptimeMs, ...}
//   {id, type: 'started', pid}
//   {id, type: 'stdout' | 'stderr', data (base64)}
//   {id, type: 'exit', code, signal?}
//   {id, type: 'file', data (base64)}           answers get
//   {id, type: 'resized', error?}               answers resize
//   {id, type: 'ok'} | {id, type: 'error', message}
import { spawn, spawnSync } from 'node:child_process'
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  read,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  write,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { dirname } from 'node:path'
import { constants as osConstants } from 'node:os'

const PORT_NAME = 'bottle.agent'
const MAX_FRAME = 16 * 1024 * 1024
const BUSYBOX = '/run/bottle/busybox'
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The /dev nodes of our ports, the main one first. Without udev there is no /dev/virtio-ports symlink, so sysfs names them. */
function findPorts() {
  const base = '/sys/class/virtio-ports'
  if (!existsSync(base)) return []
  const found = []
  for (const entry of readdirSync(base)) {
    try {
      const name = readFileSync(`${base}/${entry}/name`, 'utf8').trim()
      if (name === PORT_NAME || name.startsWith(`${PORT_NAME}.`)) found.push({ name, path: `/dev/${entry}` })
    } catch {
      // A port that vanished while being listed is not ours.
    }
  }
  return found.sort((a, b) => (a.name === PORT_NAME ? -1 : b.name === PORT_NAME ? 1 : a.name.localeCompare(b.name)))
}

async function openPorts() {
  for (let attempt = 0; ; attempt++) {
    const ports = findPorts()
    if (ports.length > 0 && ports[0].name === PORT_NAME && ports.every((p) => existsSync(p.path))) return ports.map((p) => openSync(p.path, 'r+'))
    if (attempt === 500) throw new Error(`virtio-serial port ${PORT_NAME} did not appear`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

// One descriptor per port for its whole life: a port reopened loses what the
// host sent in between.
const ports = (await openPorts()).map((fd) => ({ fd, connected: false, queue: Promise.resolve(), queued: 0 }))

/** What may wait for one host that stopped reading before its frames are dropped. */
const MAX_QUEUED = 8 * 1024 * 1024

// Requests are handled under `<port>:<id>`, so two hosts' ids never meet
// and every answer goes back out of the port its request came in on.
//
// A write to a port no host is connected to blocks until one connects, so
// frames go only to ports whose host is there (it has sent something since
// the port last read empty), and each port writes on its own queue off the
// event loop: a host that vanished mid-answer stalls its own port, never
// the others.
function send(message) {
  let targets = ports
  if (typeof message.id === 'string') {
    const at = message.id.indexOf(':')
    targets = [ports[Number(message.id.slice(0, at))]]
    message = { ...message, id: message.id.slice(at + 1) }
  }
  const body = Buffer.from(JSON.stringify(message), 'utf8')
  const frame = Buffer.allocUnsafe(4 + body.length)
  frame.writeUInt32BE(body.length, 0)
  body.copy(frame, 4)
  for (const port of targets) {
    if (port === undefined || !port.connected || port.queued + frame.length > MAX_QUEUED) continue
    port.queued += frame.length
    port.queue = port.queue
      .then(() => writeAll(port.fd, frame))
      .catch(() => undefined)
      .finally(() => {
        port.queued -= frame.length
      })
  }
}

async function writeAll(fd, frame) {
  let offset = 0
  while (offset < frame.length) {
    const { bytesWritten } = await new Promise((resolve, reject) =>
      write(fd, frame, offset, frame.length - offset, null, (error, bytesWritten) => (error ? reject(error) : resolve({ bytesWritten }))),
    )
    offset += bytesWritten
  }
}

/** @type {Map<string, import('node:child_process').ChildProcess>} */
const children = new Map()

function lookupUser(user) {
  const [name, group] = String(user).split(':')
  const passwd = safeRead('/etc/passwd')
  const groups = safeRead('/etc/group')
  let uid
  let gid
  let home
  if (/^\d+$/.test(name)) uid = Number(name)
  for (const line of passwd.split('\n')) {
    const f = line.split(':')
    if (f.length < 7) continue
    if (f[0] === name || (uid !== undefined && Number(f[2]) === uid)) {
      uid = Number(f[2])
      gid = Number(f[3])
      home = f[5]
      break
    }
  }
  if (uid === undefined) throw new Error(`unknown user ${name}`)
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group)
    else {
      const line = groups.split('\n').find((l) => l.split(':')[0] === group)
      if (line === undefined) throw new Error(`unknown group ${group}`)
      gid = Number(line.split(':')[2])
    }
  }
  return { uid, gid: gid ?? uid, home }
}

function safeRead(path) {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function exec(request) {
  const { id, argv } = request
  if (!Array.isArray(argv) || argv.length === 0) return send({ id, type: 'error', message: 'exec needs a non-empty argv' })
  let identity
  try {
    identity = request.user === undefined ? undefined : lookupUser(request.user)
  } catch (error) {
    return send({ id, type: 'error', message: error.message })
  }
  const env = { PATH: DEFAULT_PATH, HOME: identity?.home ?? '/root', ...(request.env ?? {}) }
  const tty = request.tty
  // node cannot open a pty; util-linux's script (in every Debian image) runs
  // the command on one and moves its bytes over plain pipes.
  const [file, args] =
    tty === undefined
      ? [argv[0], argv.slice(1)]
      : [
          'script',
          [
            '-q', '-f', '-e', '-c',
            // The size is set on the pty before the command starts, so it never sees another.
            `${BUSYBOX} stty rows ${Math.trunc(tty.rows)} cols ${Math.trunc(tty.columns)}; exec ${argv.map(shellQuote).join(' ')}`,
            '/dev/null',
          ],
        ]
  if (tty !== undefined) {
    env.TERM ??= 'xterm-256color'
    env.SHELL = '/bin/sh'
  }
  let child
  try {
    child = spawn(file, args, {
      cwd: request.cwd ?? '/',
      env,
      uid: identity?.uid,
      gid: identity?.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
  } catch (error) {
    return finishFailedSpawn(id, error)
  }
  let failed = false
  child.once('error', (error) => {
    failed = true
    children.delete(id)
    finishFailedSpawn(id, error)
  })
  if (child.pid === undefined) return
  children.set(id, child)
  send({ id, type: 'started', pid: child.pid })
  child.stdout.on('data', (chunk) => send({ id, type: 'stdout', data: chunk.toString('base64') }))
  child.stderr.on('data', (chunk) => send({ id, type: 'stderr', data: chunk.toString('base64') }))
  child.stdin.on('error', () => undefined) // a command that exits without reading its stdin
  if (request.stdin !== undefined) child.stdin.write(Buffer.from(request.stdin, 'base64'))
  if (request.keepStdinOpen !== true) child.stdin.end()
  // 'close' rather than 'exit': every byte of output is sent before the exit code.
  child.once('close', (code, signal) => {
    if (failed) return
    children.delete(id)
    const signo = signal === null ? undefined : osConstants.signals[signal]
    send({ id, type: 'exit', code: code ?? 128 + (signo ?? 0), ...(signal === null ? {} : { signal }) })
  })
}

function shellQuote(word) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${String(word).replaceAll("'", "'\\''")}'`
}

/** Pids whose parent is `pid` (scanned: kernels without CONFIG_PROC_CHILDREN have no children file). */
function childrenOf(pid) {
  const kids = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = safeRead(`/proc/${entry}/stat`)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[1]) === pid) kids.push(Number(entry))
  }
  return kids
}

/** The pty of the command `script` runs for `child` (script's only child). */
async function ptyOf(child) {
  for (let attempt = 0; attempt < 200; attempt++) {
    for (const kid of childrenOf(child.pid)) {
      try {
        const target = readlinkSync(`/proc/${kid}/fd/0`)
        if (target.startsWith('/dev/pts/')) return target
      } catch {
        // Not started yet, or gone.
      }
    }
    if (child.exitCode !== null) return undefined
    await new Promise((r) => setTimeout(r, 10))
  }
  return undefined
}

/** Sets the pty's size; the kernel sends the command SIGWINCH. */
async function resizeTty(child, columns, rows) {
  const pty = await ptyOf(child)
  if (pty === undefined) throw new Error('the command has no terminal')
  runBusybox(['stty', '-F', pty, 'rows', String(Math.trunc(rows)), 'cols', String(Math.trunc(columns))])
}

/** A command that cannot start exits like a shell's: 127 not found, 126 not runnable. */
function finishFailedSpawn(id, error) {
  send({ id, type: 'stderr', data: Buffer.from(`guest-agent: ${error.message}\n`).toString('base64') })
  send({ id, type: 'exit', code: error.code === 'ENOENT' ? 127 : 126 })
}

/** The /dev node of the virtio disk QEMU was given `serial` for. */
function diskBySerial(serial) {
  for (const entry of readdirSync('/sys/block')) {
    if (safeRead(`/sys/block/${entry}/serial`).trim() === serial) return `/dev/${entry}`
  }
  throw new Error(`no disk with serial ${serial}`)
}

function isMounted(target) {
  return safeRead('/proc/mounts')
    .split('\n')
    .some((line) => line.split(' ')[1] === target)
}

/**
 * Mounts the Agent's disks (ext4). A box restored from a boot snapshot was
 * saved with other files behind the same devices, and its kernel may still
 * cache their first blocks (read when the disk was probed): the buffers are
 * dropped before mounting, so the box sees its own disk.
 */
function mountDisks(mounts) {
  for (const mount of mounts) {
    if (isMounted(mount.target)) continue
    const device = diskBySerial(mount.serial)
    runBusybox(['blockdev', '--flushbufs', device])
    mkdirSync(mount.target, { recursive: true })
    runBusybox(['mount', '-t', 'ext4', '-o', mount.readOnly === true ? 'ro' : 'rw,noatime', device, mount.target])
  }
}

function configure(request) {
  const { id } = request
  try {
    if (request.mounts !== undefined) mountDisks(request.mounts)
    if (request.hosts !== undefined) writeFileSync('/etc/hosts', request.hosts)
    if (request.hostname !== undefined) {
      writeFileSync('/etc/hostname', `${request.hostname}\n`)
      runBusybox(['hostname', request.hostname])
    }
    if (request.timeMs !== undefined) runBusybox(['date', '-u', '-s', `@${Math.floor(request.timeMs / 1000)}`])
    if (request.seed !== undefined) reseed(Buffer.from(request.seed, 'base64'))
    send({ id, type: 'ok' })
  } catch (error) {
    send({ id, type: 'error', message: error.message })
  }
}

/**
 * Boxes restored from one snapshot start with one kernel RNG state, and the
 * kernel would only reseed on its own schedule (up to a minute later). So
 * the host's seed is mixed into the input pool and the RNG is reseeded from
 * it at once with the RNDRESEEDCRNG ioctl, which node cannot issue: the
 * image's perl does (Debian's perl-base is essential). Without it the box is
 * refused, never left with a cloned RNG.
 */
function reseed(seed) {
  const random = openSync('/dev/urandom', 'w')
  try {
    writeSync(random, seed)
  } finally {
    closeSync(random)
  }
  const RNDRESEEDCRNG = 0x5207
  const result = spawnSync('perl', ['-e', `open(my $f, '>', '/dev/urandom') or die "$!"; ioctl($f, ${RNDRESEEDCRNG}, 0) or die "$!"`], {
    encoding: 'utf8',
    env: { PATH: DEFAULT_PATH },
  })
  if (result.status !== 0) {
    throw new Error(`cannot reseed the kernel RNG (the image needs perl): ${(result.stderr ?? result.error?.message ?? '').trim()}`)
  }
}

function runBusybox(args) {
  const status = spawnSync(BUSYBOX, args, { stdio: 'ignore' }).status
  if (status !== 0) throw new Error(`${args[0]} failed (exit ${String(status)})`)
}

/**
 * Copies files into the box (its config, CA, prompt...). Each file is
 * written beside its target and renamed over it, so a reader in the box never
 * sees half a file.
 */
function putFiles(request) {
  try {
    for (const file of request.files) {
      mkdirSync(dirname(file.path), { recursive: true })
      const temp = `${file.path}.bottle-put`
      writeFileSync(temp, Buffer.from(file.data, 'base64'), { mode: file.mode ?? 0o644 })
      if (file.uid !== undefined) chownSync(temp, file.uid, file.gid ?? file.uid)
      renameSync(temp, file.path)
    }
    send({ id: request.id, type: 'ok' })
  } catch (error) {
    send({ id: request.id, type: 'error', message: error.message })
  }
}

function getFile(request) {
  try {
    send({ id: request.id, type: 'file', data: readFileSync(request.path).toString('base64') })
  } catch (error) {
    send({ id: request.id, type: 'error', message: error.message })
  }
}

function handle(message) {
  switch (message.op) {
    case 'ping':
      return send({ id: message.id, type: 'pong', uptimeMs: Math.round(process.uptime() * 1000), pid: process.pid })
    case 'exec':
      return exec(message)
    case 'stdin': {
      const child = children.get(message.id)
      if (child === undefined) return
      if (message.data !== undefined) child.stdin.write(Buffer.from(message.data, 'base64'))
      if (message.eof === true) child.stdin.end()
      return
    }
    case 'resize': {
      const child = children.get(message.id)
      if (child === undefined) return send({ id: message.id, type: 'error', message: 'no such process' })
      resizeTty(child, message.columns, message.rows).then(
        () => send({ id: message.id, type: 'resized' }),
        // Not 'error': that would end the command's exec on the host.
        (error) => send({ id: message.id, type: 'resized', error: error.message }),
      )
      return
    }
    case 'signal': {
      const child = children.get(message.id)
      if (child === undefined) return send({ id: message.id, type: 'error', message: 'no such process' })
      try {
        child.kill(message.signal)
      } catch (error) {
        send({ id: message.id, type: 'error', message: error.message })
      }
      return
    }
    case 'configure':
      return configure(message)
    case 'put':
      return putFiles(message)
    case 'get':
      return getFile(message)
    case 'sync':
      // Before the host stops the VM: what the box wrote reaches its disks.
      try {
        runBusybox(['sync'])
        return send({ id: message.id, type: 'ok' })
      } catch (error) {
        return send({ id: message.id, type: 'error', message: error.message })
      }
    default:
      return send({ id: message.id, type: 'error', message: `unknown op ${String(message.op)}` })
  }
}

/** Reads one port's frames, forever. */
function servePort(port, index) {
  let pending = Buffer.alloc(0)
  const onData = (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0)
      if (length > MAX_FRAME) {
        // A corrupt stream cannot be resynchronised; start clean.
        pending = Buffer.alloc(0)
        return
      }
      if (pending.length < 4 + length) return
      const body = pending.subarray(4, 4 + length)
      pending = pending.subarray(4 + length)
      let message
      try {
        message = JSON.parse(body.toString('utf8'))
      } catch {
        continue
      }
      if (typeof message?.id !== 'string') continue
      handle({ ...message, id: `${index}:${message.id}` })
    }
  }
  // A read returns 0 bytes while no host is connected to the port (not only at
  // an end of file), so the loop waits and reads again instead of ending.
  const readBuffer = Buffer.allocUnsafe(64 * 1024)
  const readLoop = () => {
    read(port.fd, readBuffer, 0, readBuffer.length, null, (error, bytes) => {
      if (error && error.code !== 'EAGAIN' && error.code !== 'EINTR') {
        process.stderr.write(`guest-agent: reading port ${index} failed: ${error.message}\n`)
        process.exit(1)
      }
      if (!error && bytes > 0) {
        if (!port.connected) {
          // A new host: whatever the last one left half-read is not its.
          port.connected = true
          pending = Buffer.alloc(0)
        }
        onData(Buffer.from(readBuffer.subarray(0, bytes)))
        setImmediate(readLoop)
      } else {
        if (!error) port.connected = false
        // Every wake-up of an idle guest costs host CPU (much of it under
        // TCG): a port with no host is looked at five times a second.
        setTimeout(readLoop, 200)
      }
    })
  }
  readLoop()
}

ports.forEach(servePort)
