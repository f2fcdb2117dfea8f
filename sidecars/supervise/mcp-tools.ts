/**
 * The MCP server the agent talks to, with its three tools:
 *
 *   list-egress-routes    {}                          -> the routes egress enforces now
 *   propose-egress-route  {host, paths?, reason}      -> {id, phase: Pending, message}
 *   proposal-status       {id}                        -> {id, phase, host, paths?, message, decidedAt?, live?}
 *
 * Arguments are checked by strict zod schemas before a handler runs: junk
 * (wrong types, unknown keys such as `auth` or `allowPrivate`) is answered
 * with an `isError` result naming the problem, and the server keeps serving.
 * A refusal by the rules is an `isError` result too, with one line saying
 * why. Results carry the same object as text (JSON) and structuredContent.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from 'pino'
import * as z from 'zod'
import { logEvent, type SuperviseTool } from './event-log.js'
import { ProposalRefusal, type ProposalDesk } from './proposal-desk.js'
import { MAX_HOST_LENGTH, MAX_PATH_LENGTH, MAX_PATHS, MAX_REASON_LENGTH } from './proposal-rules.js'
import { PROPOSAL_ID } from './supervise-config.js'

export const SERVER_INFO = { name: 'bottle-supervise', version: '1.0.0' } as const

const proposeInput = z.strictObject({
  host: z
    .string()
    .min(1)
    .max(MAX_HOST_LENGTH)
    .describe('Exact host name (api.example.com) or *.suffix under a registered domain. No scheme, port, path or IP literal.'),
  paths: z
    .array(z.string().min(1).max(MAX_PATH_LENGTH))
    .min(1)
    .max(MAX_PATHS)
    .optional()
    .describe('Path prefixes to allow, each starting with "/". Leave out to ask for every path of the host.'),
  reason: z.string().min(1).max(MAX_REASON_LENGTH).describe('Why the task needs this route; a human reads it before deciding.'),
})

const statusInput = z.strictObject({
  id: z.string().regex(PROPOSAL_ID, 'must be a proposal id such as impl-3').describe('The id propose-egress-route returned.'),
})

/** A fresh server over the desk (one per HTTP request: the transport is stateless). */
export function createSuperviseServer(desk: ProposalDesk, log: Logger): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions:
      'This sandbox reaches the network only through an egress proxy with an allowlist of routes. ' +
      'When a request is refused with a "bottle-egress:" message, check list-egress-routes, then ask for the route with propose-egress-route and a clear reason. ' +
      'A human approves or rejects it; poll proposal-status. An approved route works without restarting anything.',
  })

  server.registerTool(
    'list-egress-routes',
    {
      title: 'List egress routes',
      description: 'The routes the egress proxy enforces right now: host, allowed path prefixes, TLS mode, and whether the proxy injects a credential. Every other host is refused.',
      inputSchema: z.strictObject({}),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () =>
      answer(log, 'list-egress-routes', async () => {
        const live = await desk.liveRoutes()
        logEvent(log, { event: 'tool.answered', tool: 'list-egress-routes', routes: live.routes.length })
        return { appliedAt: live.appliedAt, routes: live.routes }
      }),
  )

  server.registerTool(
    'propose-egress-route',
    {
      title: 'Propose an egress route',
      description:
        'Ask a human to allow a new host (optionally only some path prefixes). Returns a proposal id; the route is not usable until a human approves it. ' +
        'A proposal can never carry credentials, private-address access or TLS passthrough.',
      inputSchema: proposeInput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      answer(log, 'propose-egress-route', async () => {
        const submitted = await desk.propose({ host: args.host, ...(args.paths ? { paths: args.paths } : {}) }, args.reason)
        logEvent(log, { event: 'proposal.submitted', id: submitted.id, host: args.host, paths: args.paths?.length ?? 0 })
        return submitted
      }),
  )

  server.registerTool(
    'proposal-status',
    {
      title: 'Proposal status',
      description: 'Pending, Approved or Rejected, with the reason a human or the controller gave. For an approved proposal, `live` says whether the proxy enforces the route yet.',
      inputSchema: statusInput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) =>
      answer(log, 'proposal-status', async () => {
        const state = await desk.status(args.id)
        logEvent(log, { event: 'tool.answered', tool: 'proposal-status', id: state.id, phase: state.phase })
        return state
      }),
  )

  return server
}

/** Runs a handler; a refusal or a fault becomes an isError result, never a dropped request. */
async function answer(log: Logger, tool: SuperviseTool, run: () => Promise<object>): Promise<CallToolResult> {
  try {
    const value = await run()
    return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown> }
  } catch (error) {
    if (error instanceof ProposalRefusal) {
      logEvent(log, { event: 'tool.refused', tool, code: error.code })
      return { content: [{ type: 'text', text: `refused: ${error.message}` }], isError: true }
    }
    logEvent(log, { event: 'tool.failed', tool, error: oneLine(error) })
    return { content: [{ type: 'text', text: 'supervise failed to answer; try again, and tell the operator if it keeps failing' }], isError: true }
  }
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300)
}
