import { execFileSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TempFolder } from '../../helpers/temp-folder.js'

const SCRIPT = join(import.meta.dirname, '../../../images/agent/bottle-agent-provision.mjs')

let box: TempFolder
beforeEach(async () => {
  box = await TempFolder.create('bottle-provision-')
})
afterEach(async () => {
  await box.dispose()
})

function run(step: string, provider = 'claude'): void {
  execFileSync(process.execPath, [SCRIPT, step], {
    env: {
      PATH: process.env.PATH,
      HOME: join(box.path, 'home'),
      BOTTLE_AGENT_CONFIG_DIR: join(box.path, 'config'),
      BOTTLE_PROVIDER: provider,
      BOTTLE_SESSIONS_DIR: join(box.path, 'sessions'),
      CLAUDE_CONFIG_DIR: join(box.path, 'sessions/claude'),
      CODEX_HOME: join(box.path, 'sessions/codex'),
    },
    stdio: 'pipe',
  })
}

const mtime = (rel: string) => statSync(join(box.path, rel)).mtimeMs

describe('bottle-agent-provision', () => {
  it("merges Claude settings and MCP servers into the CLI's own config, keeping its keys, and changes nothing the second time", async () => {
    await box.write('config/claude.json', JSON.stringify({ hasCompletedOnboarding: true, projects: { '/w': { hasTrustDialogAccepted: true } } }))
    await box.write('config/claude-settings.json', JSON.stringify({ skipDangerousModePermissionPrompt: true }))
    await box.write('sessions/claude/settings.json', JSON.stringify({ model: 'opus' }))
    await box.write('config/mcp.json', JSON.stringify({ mcpServers: { supervise: { type: 'http', url: 'http://supervise:9100/mcp' } } }))
    await box.write('sessions/claude/.claude.json', JSON.stringify({ numStartups: 7, projects: { '/w': { history: ['x'] } }, mcpServers: { mine: { command: 'x' } } }))
    for (const step of ['prompt', 'provider', 'skills', 'mcp']) run(step)
    const config = JSON.parse(await box.read('sessions/claude/.claude.json'))
    expect(config).toEqual({
      numStartups: 7,
      hasCompletedOnboarding: true,
      projects: { '/w': { history: ['x'], hasTrustDialogAccepted: true } },
      mcpServers: { mine: { command: 'x' }, supervise: { type: 'http', url: 'http://supervise:9100/mcp' } },
    })
    expect(JSON.parse(await box.read('sessions/claude/settings.json'))).toEqual({ model: 'opus', skipDangerousModePermissionPrompt: true })
    const before = mtime('sessions/claude/.claude.json')
    // Lets the clock move past the file system's mtime resolution, so a rewrite would show.
    await new Promise((r) => setTimeout(r, 20))
    for (const step of ['prompt', 'provider', 'skills', 'mcp']) run(step)
    expect(mtime('sessions/claude/.claude.json')).toBe(before)
  })

  it('drops an MCP server bottle registered once the config no longer lists it, never the agent\'s own', async () => {
    await box.write('config/mcp.json', JSON.stringify({ mcpServers: { supervise: { type: 'http', url: 'u' } } }))
    await box.write('sessions/claude/.claude.json', JSON.stringify({ mcpServers: { mine: { command: 'x' } } }))
    run('mcp')
    await box.remove('config/mcp.json')
    run('mcp')
    expect(JSON.parse(await box.read('sessions/claude/.claude.json')).mcpServers).toEqual({ mine: { command: 'x' } })
  })

  it('writes the prompt, and removes it when the spec no longer has one', async () => {
    await box.write('config/prompt.md', 'You review code.\n')
    run('prompt')
    expect(await box.read('home/.bottle/prompt.md')).toBe('You review code.\n')
    await box.remove('config/prompt.md')
    run('prompt')
    expect(await box.readOptional('home/.bottle/prompt.md')).toBeUndefined()
  })

  it('copies skills into the CLI folder and removes the ones it put there that are gone', async () => {
    await box.write('config/skills/review/SKILL.md', '# review\n')
    await box.write('config/skills/lint/SKILL.md', '# lint\n')
    await box.write('sessions/claude/skills/own/SKILL.md', '# the agent made this\n')
    run('skills')
    expect(await box.read('sessions/claude/skills/review/SKILL.md')).toBe('# review\n')
    await box.write('config/skills/review/SKILL.md', '# review v2\n')
    await box.remove('config/skills/lint/SKILL.md')
    await import('node:fs/promises').then((fs) => fs.rmdir(join(box.path, 'config/skills/lint')))
    run('skills')
    expect(await box.read('sessions/claude/skills/review/SKILL.md')).toBe('# review v2\n')
    expect(await box.readOptional('sessions/claude/skills/lint/SKILL.md')).toBeUndefined()
    expect(await box.read('sessions/claude/skills/own/SKILL.md')).toBe('# the agent made this\n')
  })

  it('gives Codex its config.toml and placeholder login (0600), into CODEX_HOME', async () => {
    await box.write('config/codex-config.toml', '[projects."/w"]\ntrust_level = "trusted"\n')
    await box.write('config/codex-auth.json', '{"auth_mode":"apikey"}\n')
    await box.write('config/skills/review/SKILL.md', '# review\n')
    run('provider', 'codex')
    run('skills', 'codex')
    expect(await box.read('sessions/codex/config.toml')).toContain('trust_level = "trusted"')
    expect(await box.read('sessions/codex/auth.json')).toBe('{"auth_mode":"apikey"}\n')
    expect(statSync(join(box.path, 'sessions/codex/auth.json')).mode & 0o777).toBe(0o600)
    expect(await box.read('sessions/codex/skills/review/SKILL.md')).toBe('# review\n')
  })

  it('refuses to clobber a .claude.json that is not JSON, and says so', async () => {
    await box.write('config/claude.json', '{"hasCompletedOnboarding":true}')
    await box.write('sessions/claude/.claude.json', 'not json')
    expect(() => run('provider')).toThrow(/is not JSON; left as it is/)
    expect(await box.read('sessions/claude/.claude.json')).toBe('not json')
  })
})
