/**
 * Loads the dashboard (and with it ink and react) only when it runs, with
 * ink told the truth about the screen. ink reads CI and
 * CONTINUOUS_INTEGRATION once, when it is first imported, and under either
 * it draws nothing until it exits: a blank terminal for the whole session.
 * The dashboard refuses to start without a terminal, so those variables say
 * nothing about where it draws. They are hidden while ink loads and put
 * back at once, so what the dashboard starts (an attach) still sees them.
 */
import type { runDashboard } from './run-dashboard.js'

const CI_VARIABLES = ['CI', 'CONTINUOUS_INTEGRATION'] as const

export async function loadDashboard(): Promise<typeof runDashboard> {
  const saved = CI_VARIABLES.map((name) => [name, process.env[name]] as const)
  for (const [name] of saved) delete process.env[name]
  try {
    return (await import('./run-dashboard.js')).runDashboard
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value
  }
}
