/**
 * The names every driver gives an Agent's objects, so that one rule decides
 * which Agent names are valid and a box's name in status says its instance
 * and runtime the same way on every driver.
 */

/** An Agent's name: short enough for every engine's object names and for socket paths under a state folder. */
export const AGENT_NAME = /^[a-z][a-z0-9-]{0,52}$/

/**
 * The name of an Agent's box on a runtime whose box is not a container
 * (`bottle-<agent>-<runtime>`; `bottle-<instance>-<agent>-<runtime>` for an
 * instance other than `default`).
 */
export function boxName(instance: string, agent: string, runtime: string): string {
  return instance === 'default' ? `bottle-${agent}-${runtime}` : `bottle-${instance}-${agent}-${runtime}`
}
