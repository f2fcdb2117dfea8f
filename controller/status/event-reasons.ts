/**
 * Every reason an event in a status file can give (`status.events[].reason`),
 * one per kind of change the controller makes. Closed for the same reason as
 * condition reasons: readers match on them.
 */
export const EVENT_REASONS = [
  'InfrastructureCreated',
  'ConfigWritten',
  'ConfigReloaded',
  'Created',
  'Started',
  'Stopped',
  'Pruned',
] as const

export type EventReason = (typeof EVENT_REASONS)[number]
