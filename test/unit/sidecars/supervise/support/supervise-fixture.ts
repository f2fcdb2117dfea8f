import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { startSuperviseHttp, type SuperviseHttp } from '../../../../../sidecars/supervise/http-server.js'
import { ProposalDesk } from '../../../../../sidecars/supervise/proposal-desk.js'
import type { Decisions, SuperviseConfig } from '../../../../../sidecars/supervise/supervise-config.js'
import type { EgressAppliedState } from '../../../../../sidecars/shared/bundle-contract.js'
import { captureLog } from '../../../../helpers/log-capture.js'
import { TempFolder } from '../../../../helpers/temp-folder.js'

export const CONFIG: SuperviseConfig = { version: 1, agent: 'impl', bottle: 'dev', limits: { maxPending: 3, maxPerHour: 10 } }

export const APPLIED: EgressAppliedState = {
  appliedAt: '2025-01-01T00:00:00.000Z',
  configHash: 'sha256:abc',
  attemptedAt: '2025-01-01T00:00:00.000Z',
  attemptedConfigHash: 'sha256:abc',
  routes: [
    { host: 'api.github.com', paths: ['/repos/me/'], tls: 'intercept', auth: { scheme: 'Bearer', slot: 'env.GH_TOKEN' } },
    { host: '*.githubusercontent.com', tls: 'passthrough' },
    { host: 'internal-api.example.com', tls: 'intercept', upstream: 'https://gateway.example.com:8443' },
  ],
}

/** A supervise daemon in-process on a real loopback socket, over temporary config and state folders. */
export class SuperviseFixture {
  readonly logs = captureLog()
  private http: SuperviseHttp | undefined
  private clients: Client[] = []

  private constructor(readonly folder: TempFolder) {}

  /** `null` leaves a file out, as before the controller or egress wrote it. */
  static async start(config: SuperviseConfig | null = CONFIG, applied: EgressAppliedState | null = APPLIED): Promise<SuperviseFixture> {
    const fixture = new SuperviseFixture(await TempFolder.create('bottle-supervise-'))
    await mkdir(fixture.configDir, { recursive: true })
    await mkdir(fixture.stateDir, { recursive: true })
    if (config) await fixture.writeConfig(config)
    if (applied) await fixture.writeApplied(applied)
    const desk = new ProposalDesk({ configDir: fixture.configDir, stateDir: fixture.stateDir, appliedPath: fixture.appliedPath, now: () => new Date('2025-06-01T12:00:00Z') })
    fixture.http = await startSuperviseHttp({ host: '127.0.0.1', port: 0, desk, log: fixture.logs.log })
    return fixture
  }

  get configDir(): string {
    return this.folder.join('etc/supervise')
  }

  get stateDir(): string {
    return this.folder.join('state/supervise')
  }

  get appliedPath(): string {
    return this.folder.join('state/egress/applied.json')
  }

  get url(): string {
    return `http://127.0.0.1:${this.http!.port}/mcp`
  }

  async writeConfig(config: SuperviseConfig): Promise<void> {
    await writeFile(join(this.configDir, 'config.json'), JSON.stringify(config))
  }

  async writeDecisions(decisions: Decisions): Promise<void> {
    await writeFile(join(this.configDir, 'decisions.json'), JSON.stringify(decisions))
  }

  async writeApplied(applied: EgressAppliedState): Promise<void> {
    await mkdir(join(this.appliedPath, '..'), { recursive: true })
    await writeFile(this.appliedPath, JSON.stringify(applied))
  }

  /** The SDK's own client over Streamable HTTP. */
  async client(): Promise<Client> {
    const client = new Client({ name: 'test-agent', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(this.url)))
    this.clients.push(client)
    return client
  }

  async stop(): Promise<void> {
    for (const client of this.clients) await client.close().catch(() => undefined)
    await this.http?.close()
    await this.folder.dispose()
  }
}

export function textOf(result: unknown): string {
  const content = (result as CallToolResult).content ?? []
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('')
}
