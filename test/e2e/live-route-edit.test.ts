/**
 * Route edits take effect live: a route added to the Bottle file is
 * reachable from inside the running agent within a second, the agent's box
 * is not restarted (same container id and start time), a keep-alive
 * connection opened before the edit keeps working on the same socket, and
 * removing the route refuses the host again.
 */
import Dockerode from 'dockerode'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerDriver } from '../../controller/runtime/docker/docker-driver.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../helpers/controller-process.js'
import { startHttpsOrigin } from '../helpers/https-origin.js'
import { TempFolder } from '../helpers/temp-folder.js'

const docker = new Dockerode()
const instance = uniqueInstance('live')
const driver = new DockerDriver({ instance, logger: pino({ level: 'silent' }) })
const TOKEN = `live-${Date.now().toString(36)}-not-a-real-credential`

/**
 * Runs in the agent: one TLS connection through the proxy's CONNECT tunnel
 * (intercepted, so every request is judged by the current routes), reused
 * for a request every 100 ms; prints one line per answer and the socket's
 * local port, so a reconnect would show.
 */
const KEEP_ALIVE = `
const net = require('net'), tls = require('tls'), fs = require('fs')
const ca = fs.readFileSync('/usr/local/share/ca-certificates/bottle-agent.crt')
const raw = net.connect(8888, 'egress', () => raw.write('CONNECT api.test.internal:443 HTTP/1.1\\r\\nHost: api.test.internal:443\\r\\n\\r\\n'))
let head = ''
raw.on('data', function onHead(d) {
  head += d
  if (!head.includes('\\r\\n\\r\\n')) return
  raw.removeListener('data', onHead)
  const s = tls.connect({ socket: raw, servername: 'api.test.internal', ca }, () => {
    let n = 0, buf = ''
    const ask = () => s.write('GET /ka/' + n++ + ' HTTP/1.1\\r\\nHost: api.test.internal\\r\\nConnection: keep-alive\\r\\n\\r\\n')
    s.on('data', (d) => {
      buf += d
      const end = buf.indexOf('\\n', buf.indexOf('\\r\\n\\r\\n') + 4)
      if (buf.indexOf('\\r\\n\\r\\n') < 0 || end < 0) return
      console.log(buf.split(' ')[1] + ' port=' + raw.localPort)
      buf = ''
      if (n < Number(process.argv[2])) setTimeout(ask, 100); else s.end()
    })
    ask()
  })
})
`

/** Runs in the agent: curl a host every 50 ms until it answers, then print the time it did (same clock as the test's). */
const POLL = 'until curl -sS --max-time 2 https://live.test.internal/ 2>/dev/null | grep -q "^origin:"; do sleep 0.05; done; node -e "console.log(Date.now())"'

describe('a live route edit', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess
  let origin: Awaited<ReturnType<typeof startHttpsOrigin>>
  const bottle = (extra: string) => `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: api.test.internal
        upstream: https://${origin.host}:${origin.port}
${extra}    allowPrivate: ["${origin.host}/32"]
`
  const sh = async (script: string) => {
    const r = await driver.exec('impl', 'agent', ['sh', '-c', script], { user: 'agent', env: { HOME: '/home/agent' } })
    return { exitCode: r.exitCode, out: r.stdout + r.stderr }
  }
  const started = async () => {
    const info = await docker.getContainer(`bottle-${instance}-impl-agent`).inspect()
    return { id: info.Id, startedAt: info.State.StartedAt }
  }

  beforeAll(async () => {
    origin = await startHttpsOrigin({ dir: mkdtempSync(join(tmpdir(), 'bottle-live-')), token: TOKEN })
    specs = await TempFolder.create('bottle-live-specs-')
    state = await TempFolder.create('bottle-live-state-')
    await specs.write('bottles/dev.yaml', bottle(''))
    await specs.write('agents/impl.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec: {bottle: dev}\n')
    // LIVE_TOKEN is in the controller's environment from the start, but no route uses it until the edit.
    controller = new ControllerProcess(specs, state, instance, { LIVE_TOKEN: TOKEN }, ['--upstream-ca', origin.caFile])
    controller.start()
    await controller.waitForStatus('agents/impl.yaml', 'impl', isReady)
    while ((await sh('test -f /run/bottle-agent-ready && echo ok')).out.trim() !== 'ok') await sleep(200)
  })

  afterAll(async () => {
    await controller?.stop()
    origin?.close()
    await removeInstance(docker, instance)
    await specs?.dispose()
    await state?.dispose()
  })

  it('adds a route (with a token no route used before) that answers within a second, with no restart and the keep-alive connection intact', async () => {
    expect((await sh('curl -sS https://live.test.internal/ 2>&1; curl -sS http://live.test.internal/')).out).toContain('bottle-egress: no-route')
    const box = await started()
    await sh(`cat > /tmp/keep-alive.js <<'EOF'\n${KEEP_ALIVE}\nEOF`)
    // 60 requests, one every 100 ms or so, on one connection: the edit lands in the middle.
    const keepAlive = sh('node /tmp/keep-alive.js 60')
    const polling = sh(POLL)
    await sleep(1500)
    const saved = Date.now()
    await specs.write('bottles/dev.yaml', bottle(`      - host: live.test.internal\n        upstream: https://${origin.host}:${origin.port}\n        auth: {scheme: Bearer, tokenRef: {env: LIVE_TOKEN}}\n`))
    const answeredAt = Number((await polling).out.trim())
    const elapsed = answeredAt - saved
    console.info(`live route edit: reachable from the agent ${elapsed} ms after the save`)
    expect(elapsed).toBeGreaterThan(0)
    expect(elapsed).toBeLessThan(1000)

    const lines = (await keepAlive).out.trim().split('\n')
    expect(lines).toHaveLength(60)
    expect(new Set(lines.map((l) => l.split(' ')[0]))).toEqual(new Set(['200']))
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(1)

    expect(await started()).toEqual(box)
    // The new route's new token reached the bundle without a restart: the origin received it.
    expect((await sh('curl -sS https://live.test.internal/')).out).toBe('origin: token-ok\n')
    expect((await sh('env')).out).not.toContain(TOKEN)
    const status = await controller.waitForStatus('agents/impl.yaml', 'impl', (s) => (s.routes?.applied ?? []).some((r) => r.host === 'live.test.internal'))
    expect(status.conditions.find((c) => c.type === 'RoutesApplied')?.status).toBe('True')
  })

  it('removing the route refuses the host again, still without a restart', async () => {
    const box = await started()
    await specs.write('bottles/dev.yaml', bottle(''))
    const deadline = Date.now() + 5000
    let out = ''
    while (Date.now() < deadline) {
      out = (await sh('curl -sS http://live.test.internal/')).out
      if (out.includes('bottle-egress: no-route')) break
      await sleep(100)
    }
    expect(out).toContain('bottle-egress: no-route')
    expect(await started()).toEqual(box)
  })
})
