/**
 * Docker's event stream, narrowed to the lifecycle events of this instance's
 * parts and mapped to PartEvents. Pure; the driver does the streaming.
 */
import type { PartEvent, PartEventKind } from '../driver.js'
import { isOwned, LABEL, ownershipFilter } from './names.js'

export const EVENT_KINDS: readonly PartEventKind[] = ['start', 'die', 'stop', 'destroy', 'oom', 'kill']

export interface DockerEventMessage {
  Type?: string
  Action?: string
  Actor?: { ID?: string; Attributes?: Record<string, string> }
  time?: number
  timeNano?: number
}

/** The filters handed to the engine's /events endpoint. */
export function eventFilters(instance: string): Record<string, string[]> {
  return { type: ['container'], label: ownershipFilter(instance), event: [...EVENT_KINDS] }
}

export function toPartEvent(instance: string, message: DockerEventMessage): PartEvent | undefined {
  if (message.Type !== 'container') return undefined
  const kind = EVENT_KINDS.find((candidate) => candidate === message.Action)
  const attributes = message.Actor?.Attributes
  if (kind === undefined || !isOwned(attributes, instance)) return undefined
  const agent = attributes?.[LABEL.agent]
  if (agent === undefined) return undefined
  const millis =
    message.timeNano !== undefined ? Math.floor(message.timeNano / 1e6) : message.time !== undefined ? message.time * 1000 : Date.now()
  const event: PartEvent = { agent, kind, time: new Date(millis).toISOString() }
  const role = attributes?.[LABEL.role]
  if (role === 'agent' || role === 'sidecars') event.part = role
  return event
}
