#!/usr/bin/env node
// Sets up the agent's CLI from the files the controller rendered into the
// read-only config folder. bottle-agent-init runs one step at a time, as the
// agent user, in a fixed order:
//
//   prompt    config/prompt.md -> ~/.bottle/prompt.md
//   provider  Claude: config/claude.json merged into $CLAUDE_CONFIG_DIR/.claude.json,
//                     config/claude-settings.json into $CLAUDE_CONFIG_DIR/settings.json
//             Codex:  config/codex-config.toml -> $CODEX_HOME/config.toml,
//                     config/codex-auth.json -> $CODEX_HOME/auth.json (a placeholder)
//   skills    config/skills/<name>/ -> the CLI's skills/<name>/
//   mcp       config/mcp.json's servers merged into .claude.json (Codex has them in config.toml)
//   egress    waits (a little) until the bundle's proxy answers, so a task's first call goes out
//
// Every step is idempotent: it writes only what differs, and keeps whatever
// the CLI itself stored beside bottle's keys. A restart with unchanged
// config changes no file.
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const configDir = process.env.BOTTLE_AGENT_CONFIG_DIR || '/etc/bottle/agent'
const home = process.env.HOME || '/home/agent'
const provider = process.env.BOTTLE_PROVIDER || 'claude'
const claudeDir = process.env.CLAUDE_CONFIG_DIR || join(home, '.claude')
const codexHome = process.env.CODEX_HOME || join(home, '.codex')
const promptTarget = join(home, '.bottle', 'prompt.md')
// Beside the CLIs' folders, so it lasts exactly as long as what it records.
const managedRecord = join(process.env.BOTTLE_SESSIONS_DIR || join(home, '.bottle'), 'bottle-managed.json')

class StepError extends Error {}

function readOptional(path) {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if (error.code === 'ENOENT') return undefined
    throw new StepError(`cannot read ${path} (${error.code}); it must be world-readable`)
  }
}

/** Writes when the content differs; returns whether it wrote. Atomic, so the CLI never reads half a file. */
function writeIfChanged(path, content, mode = 0o600) {
  if (readOptional(path) === content) return false
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const temporary = `${path}.bottle-${process.pid}`
  writeFileSync(temporary, content, { mode })
  chmodSync(temporary, mode)
  renameSync(temporary, path)
  return true
}

function readJsonObject(path) {
  const text = readOptional(path)
  if (text === undefined) return {}
  let value
  try {
    value = JSON.parse(text)
  } catch {
    throw new StepError(`${path} is not JSON; left as it is`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StepError(`${path} is not a JSON object; left as it is`)
  return value
}

function writeJson(path, value) {
  return writeIfChanged(path, JSON.stringify(value, null, 2) + '\n')
}

function readManaged() {
  try {
    return JSON.parse(readFileSync(managedRecord, 'utf8'))
  } catch {
    return {}
  }
}

function writeManaged(record) {
  writeJson(managedRecord, record)
}

const claudeJson = () => join(claudeDir, '.claude.json')

/** Sets each key of `wanted` in the JSON object at `path`; `projects` entry by entry, keeping what the CLI noted there. */
function mergeInto(path, wanted) {
  const config = readJsonObject(path)
  for (const [key, value] of Object.entries(wanted)) {
    if (key === 'projects') {
      config.projects = { ...config.projects }
      for (const [project, flags] of Object.entries(value)) config.projects[project] = { ...config.projects[project], ...flags }
    } else {
      config[key] = value
    }
  }
  return writeJson(path, config)
}

const steps = {
  prompt() {
    const prompt = readOptional(join(configDir, 'prompt.md'))
    if (prompt === undefined) {
      rmSync(promptTarget, { force: true })
      return 'no prompt'
    }
    return writeIfChanged(promptTarget, prompt, 0o644) ? 'prompt written' : 'prompt unchanged'
  },

  provider() {
    if (provider === 'claude') {
      const results = []
      const state = readOptional(join(configDir, 'claude.json'))
      if (state !== undefined) results.push(mergeInto(claudeJson(), JSON.parse(state)) ? '.claude.json merged' : '.claude.json unchanged')
      const settings = readOptional(join(configDir, 'claude-settings.json'))
      if (settings !== undefined) results.push(mergeInto(join(claudeDir, 'settings.json'), JSON.parse(settings)) ? 'settings.json merged' : 'settings.json unchanged')
      return results.join(', ') || 'no Claude settings'
    }
    if (provider === 'codex') {
      const results = []
      const config = readOptional(join(configDir, 'codex-config.toml'))
      if (config !== undefined) results.push(writeIfChanged(join(codexHome, 'config.toml'), config) ? 'config.toml written' : 'config.toml unchanged')
      const auth = readOptional(join(configDir, 'codex-auth.json'))
      if (auth !== undefined) {
        // A login of the agent's own (a placeholder) replaces whatever Codex stored; its runtime db goes with it.
        if (writeIfChanged(join(codexHome, 'auth.json'), auth)) {
          for (const name of existsSync(codexHome) ? readdirSync(codexHome) : []) {
            if (/\.sqlite(-.*)?$/.test(name)) rmSync(join(codexHome, name), { force: true })
          }
          results.push('auth.json written')
        } else {
          results.push('auth.json unchanged')
        }
      }
      return results.join(', ') || 'no Codex config'
    }
    return `unknown provider ${provider}; nothing to configure`
  },

  skills() {
    const source = join(configDir, 'skills')
    const target = join(provider === 'codex' ? codexHome : claudeDir, 'skills')
    const wanted = existsSync(source) ? readdirSync(source).filter((name) => statSync(join(source, name)).isDirectory()).sort() : []
    const managed = readManaged()
    const before = Array.isArray(managed.skills) ? managed.skills : []
    let changed = 0
    for (const name of before) {
      if (!wanted.includes(name)) {
        rmSync(join(target, name), { recursive: true, force: true })
        changed++
      }
    }
    for (const name of wanted) {
      if (treeDigest(join(source, name)) === treeDigest(join(target, name))) continue
      rmSync(join(target, name), { recursive: true, force: true })
      copyTree(join(source, name), join(target, name))
      changed++
    }
    writeManaged({ ...managed, skills: wanted })
    return `${wanted.length} skill(s), ${changed} changed`
  },

  mcp() {
    if (provider !== 'claude') return 'MCP servers are in config.toml'
    const wanted = readOptional(join(configDir, 'mcp.json'))
    const servers = wanted === undefined ? {} : JSON.parse(wanted).mcpServers ?? {}
    const managed = readManaged()
    const config = readJsonObject(claudeJson())
    const mcpServers = { ...config.mcpServers }
    // Servers bottle registered before and no longer lists go; the agent's own stay.
    for (const name of Array.isArray(managed.mcpServers) ? managed.mcpServers : []) if (!(name in servers)) delete mcpServers[name]
    Object.assign(mcpServers, servers)
    config.mcpServers = mcpServers
    const wrote = writeJson(claudeJson(), config)
    writeManaged({ ...readManaged(), mcpServers: Object.keys(servers) })
    return wrote ? `${Object.keys(servers).length} MCP server(s) registered` : 'MCP servers unchanged'
  },

  async egress() {
    const proxy = process.env.HTTPS_PROXY || process.env.https_proxy
    if (!proxy) return 'no proxy configured'
    const { hostname, port } = new URL(proxy)
    const deadline = Date.now() + Number(process.env.BOTTLE_EGRESS_WAIT_MS || 30000)
    while (Date.now() < deadline) {
      if (await answers(hostname, Number(port) || 80)) return `egress answers at ${hostname}:${port}`
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return `warning: egress at ${hostname}:${port} did not answer; carrying on`
  },
}

function answers(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

function listTree(root) {
  const out = []
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile()) out.push(path)
    }
  }
  if (existsSync(root)) walk(root)
  return out.sort()
}

function treeDigest(root) {
  if (!existsSync(root)) return undefined
  const hash = createHash('sha256')
  for (const path of listTree(root)) hash.update(relative(root, path)).update('\0').update(readFileSync(path)).update('\0')
  return hash.digest('hex')
}

function copyTree(from, to) {
  for (const path of listTree(from)) {
    const target = join(to, relative(from, path))
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 })
    writeFileSync(target, readFileSync(path), { mode: statSync(path).mode & 0o111 ? 0o755 : 0o644 })
  }
}

// Several steps may be named at once (in order): one node start instead of one per step.
const names = process.argv.slice(2)
const unknown = names.find((name) => !(name in steps))
if (names.length === 0 || unknown !== undefined) {
  console.error(`bottle-agent-provision: unknown step ${JSON.stringify(unknown ?? '')}; one or more of ${Object.keys(steps).join(', ')}`)
  process.exit(2)
}
let failed = false
for (const step of names) {
  try {
    const outcome = await steps[step]()
    if (process.env.BOTTLE_PROVISION_VERBOSE) console.error(`bottle-agent-provision: ${step}: ${outcome}`)
  } catch (error) {
    // One step failing costs the agent that step, not the others.
    console.error(`bottle-agent-provision: ${step}: ${error instanceof StepError ? error.message : error.message ?? error}`)
    failed = true
  }
}
process.exit(failed ? 1 : 0)
