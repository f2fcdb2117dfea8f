import { AGENT_IMAGE_LAYOUT } from '../plan/agent-image-layout.js'
import type { RuntimeDriver } from '../runtime/driver.js'

/**
 * A box that just started may still be installing its CA and cloning its
 * workspace: commands run as the agent wait for its entrypoint's ready file.
 * Gives up quietly after `timeoutMs`; the command then meets whatever is there.
 */
export async function waitForEntrypoint(driver: RuntimeDriver, agent: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const probe = await driver.exec(agent, 'agent', ['test', '-f', AGENT_IMAGE_LAYOUT.readyFile])
    if (probe.exitCode === 0 || Date.now() > deadline) return
    await new Promise((r) => setTimeout(r, 250))
  }
}
