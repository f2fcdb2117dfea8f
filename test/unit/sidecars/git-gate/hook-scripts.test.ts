import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gatePaths } from '../../../../sidecars/git-gate/git-environment.js'
import { installGateHome, roleScript } from '../../../../sidecars/git-gate/hook-scripts.js'

const run = promisify(execFile)
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bottle-git-gate-hooks-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('installGateHome', () => {
  it('writes private, executable scripts that run the entry module in their role, with no shell', async () => {
    // An entry module that reports the role it was started in and its arguments.
    const entry = join(dir, 'entry.mjs')
    await writeFile(entry, "process.stdout.write(JSON.stringify({ role: process.env.BOTTLE_GIT_GATE_ROLE, args: process.argv.slice(2) }))\n")
    const paths = gatePaths(join(dir, 'config'), join(dir, 'state'))
    await installGateHome(paths, process.execPath, pathToFileURL(entry).href)

    for (const [script, role] of [[paths.preReceiveHook, 'pre-receive'], [paths.credentialHelper, 'credential']] as const) {
      expect((await stat(script)).mode & 0o777).toBe(0o700)
      const { stdout } = await run(script, ['get'], { env: { PATH: '/nonexistent' } })
      expect(JSON.parse(stdout)).toEqual({ role, args: ['get'] })
    }
    expect((await stat(paths.home)).mode & 0o777).toBe(0o700)
    const gitconfig = await readFile(paths.globalConfig, 'utf8')
    expect(gitconfig).toContain(`hooksPath = ${paths.hooksDir}`)
    expect(gitconfig).toContain(`helper = ${paths.credentialHelper}`)
    expect(gitconfig).toMatch(/\[protocol\]\n\tallow = never/)
  })

  it('says so when the entry module cannot be loaded', async () => {
    const paths = gatePaths(join(dir, 'config'), join(dir, 'state'))
    await installGateHome(paths, process.execPath, pathToFileURL(join(dir, 'missing.mjs')).href)
    const failed = await run(paths.preReceiveHook, []).then(() => undefined, (error: { code: number; stderr: string }) => error)
    expect(failed?.code).toBe(1)
    expect(failed?.stderr).toBe('bottle-git-gate: the pre-receive program failed to start\n')
  })
})

describe('roleScript', () => {
  it('refuses a node path that cannot stand in a #! line', () => {
    expect(() => roleScript('/opt/my node/bin/node', 'file:///x.mjs', 'credential')).toThrow(/cannot be used in a #! line/)
  })
})
