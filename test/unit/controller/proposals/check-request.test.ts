import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkRequest, type RequestContext } from '../../../../controller/proposals/check-request.js'
import type { ProposalFile } from '../../../../controller/proposals/proposal-files.js'
import type { ResolvedAgent } from '../../../../controller/spec/load-spec-tree.js'
import { FakeRandom, githubStyleToken } from '../../../helpers/fake-credentials.js'
import { proposal, resolvedAgent, specFolder } from './support/spec-folder.js'
import type { TempFolder } from '../../../helpers/temp-folder.js'

const NOW = new Date('2025-06-01T12:00:00.000Z')
let folder: TempFolder
let agent: ResolvedAgent

beforeAll(async () => {
  folder = await specFolder()
  agent = await resolvedAgent(folder)
})

afterAll(async () => {
  await folder.dispose()
})

function request(fields: Record<string, unknown> = {}, route: Record<string, unknown> = { host: 'docs.example.com' }): string {
  return JSON.stringify({ version: 1, id: 'impl-4', agent: 'impl', route, reason: 'the build reads the docs index', requestedAt: '2025-06-01T11:59:00.000Z', ...fields })
}

function context(proposals: ProposalFile[] = [], refused: string[] = []): RequestContext {
  return {
    agent,
    proposals: new Map(proposals.map((p) => [p.proposal.metadata.name, p])),
    refused: new Set(refused),
    limits: { maxPending: 2, maxPerHour: 4 },
    now: NOW,
  }
}

const file = (p: ReturnType<typeof proposal>): ProposalFile => ({ path: `proposals/${p.metadata.name}.yaml`, proposal: p })

describe('checkRequest', () => {
  it('files a good request as a Pending Proposal of the agent and its bottle', () => {
    const verdict = checkRequest('impl-4', request({}, { host: 'docs.example.com', paths: ['/v1/'] }), context())
    expect(verdict).toEqual({
      kind: 'file',
      proposal: {
        apiVersion: 'bottle.dev/v1alpha1',
        kind: 'Proposal',
        metadata: { name: 'impl-4', creationTimestamp: '2025-06-01T12:00:00.000Z' },
        spec: { agent: 'impl', bottle: 'dev', route: { host: 'docs.example.com', paths: ['/v1/'] }, reason: 'the build reads the docs index' },
        status: { phase: 'Pending' },
      },
    })
  })

  // One row per way a request is refused; `code` is what the log records, `want` what the agent reads.
  const refused: { name: string; text: string; ctx?: () => RequestContext; code: string; want: RegExp }[] = [
    { name: '"*"', text: request({}, { host: '*' }), code: 'rule', want: /"\*" would allow every host/ },
    { name: '*.com', text: request({}, { host: '*.com' }), code: 'rule', want: /wildcard over a top-level domain/ },
    { name: 'a wildcard over a public suffix', text: request({}, { host: '*.co.uk' }), code: 'rule', want: /public suffix co\.uk/ },
    { name: 'an IP literal', text: request({}, { host: '169.254.169.254' }), code: 'rule', want: /IP literal/ },
    { name: 'a private-address allowance', text: request({ allowPrivate: ['10.0.0.0/8'] }), code: 'malformed', want: /a proposal cannot carry "allowPrivate"/ },
    { name: 'a token', text: request({}, { host: 'docs.example.com', auth: { scheme: 'Bearer', tokenRef: { env: 'GH_TOKEN' } } }), code: 'malformed', want: /route: a proposal cannot carry "auth"/ },
    { name: 'a passthrough', text: request({}, { host: 'docs.example.com', tls: 'passthrough' }), code: 'malformed', want: /route: a proposal cannot carry "tls"/ },
    { name: 'an upstream', text: request({}, { host: 'docs.example.com', upstream: 'http://10.0.0.1' }), code: 'malformed', want: /cannot carry "upstream"/ },
    { name: 'a malformed path', text: request({}, { host: 'docs.example.com', paths: ['/a/../b'] }), code: 'rule', want: /normalized form/ },
    { name: 'a credential in the reason', text: request({ reason: `token ${githubStyleToken(new FakeRandom(3), 'ghp_')}` }), code: 'rule', want: /shaped like a credential/ },
    { name: 'a duplicate of a route of the bottle', text: request({}, { host: 'Registry.npmjs.org' }), code: 'already-allowed', want: /already allowed by the route registry\.npmjs\.org of Bottle dev/ },
    { name: 'a host under a wildcard route', text: request({}, { host: 'a.cdn.example.net' }), code: 'already-allowed', want: /route \*\.cdn\.example\.net/ },
    { name: "the provider's API host the controller adds", text: request({}, { host: 'api.anthropic.com' }), code: 'already-allowed', want: /already allowed by the route api\.anthropic\.com/ },
    { name: 'a host already waiting for a human', text: request(), ctx: () => context([file(proposal('impl-2', 'DOCS.example.com'))]), code: 'already-proposed', want: /already proposed for Bottle dev as impl-2/ },
    { name: 'too many pending', text: request(), ctx: () => context([file(proposal('impl-1', 'a.example.com')), file(proposal('impl-2', 'b.example.com'))]), code: 'rate-limited', want: /2 proposals are already waiting/ },
    {
      name: 'too many in the last hour',
      text: request(),
      ctx: () => context(['a', 'b', 'c', 'd'].map((h, i) => file(proposal(`impl-${i + 5}`, `${h}.example.com`, { phase: 'Rejected' })))),
      code: 'rate-limited',
      want: /4 proposals were filed in the last hour/,
    },
    { name: 'an id used by another request', text: request(), ctx: () => context([file(proposal('impl-4', 'other.example.com', { phase: 'Approved' }))]), code: 'id-in-use', want: /proposals\/impl-4\.yaml already exists/ },
    // Junk types: every one refused as malformed, none crashes the intake.
    { name: 'text that is not JSON', text: 'not json', code: 'malformed', want: /invalid JSON/ },
    { name: 'an empty file', text: '', code: 'malformed', want: /invalid JSON/ },
    { name: 'a JSON array', text: '[1,2]', code: 'malformed', want: /the request is malformed/ },
    { name: 'a host that is a number', text: request({}, { host: 7 }), code: 'malformed', want: /route\.host/ },
    { name: 'paths that are a string', text: request({}, { host: 'docs.example.com', paths: '/v1/' }), code: 'malformed', want: /route\.paths/ },
    { name: 'no reason', text: request({ reason: undefined }), code: 'malformed', want: /reason/ },
    { name: 'a future format version', text: request({ version: 2 }), code: 'malformed', want: /version/ },
    { name: "another agent's id", text: request({ id: 'other-4', agent: 'other' }), code: 'malformed', want: /does not belong to agent impl/ },
  ]
  it.each(refused)('refuses $name', ({ text, ctx, code, want }) => {
    const verdict = checkRequest('impl-4', text, (ctx ?? context)())
    expect(verdict.kind).toBe('refuse')
    if (verdict.kind !== 'refuse') return
    expect(verdict.code).toBe(code)
    expect(verdict.message).toMatch(want)
  })

  it('counts only pending proposals of this agent, and only the last hour', () => {
    const others = [
      file(proposal('other-1', 'a.example.com', { agent: 'other' })),
      file(proposal('other-2', 'b.example.com', { agent: 'other' })),
      file(proposal('impl-1', 'c.example.com', { phase: 'Approved', createdAt: '2025-06-01T10:00:00.000Z' })),
      file(proposal('impl-2', 'd.example.com', { phase: 'Rejected', createdAt: '2025-05-31T12:00:00.000Z' })),
    ]
    expect(checkRequest('impl-4', request(), context(others)).kind).toBe('file')
  })

  it('recognises a request it already handled (the file outlived a crash)', () => {
    expect(checkRequest('impl-4', request(), context([file(proposal('impl-4', 'docs.example.com'))]))).toEqual({ kind: 'handled' })
    expect(checkRequest('impl-4', request(), context([], ['impl-4']))).toEqual({ kind: 'handled' })
  })
})
