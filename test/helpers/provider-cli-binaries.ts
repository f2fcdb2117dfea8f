/**
 * The real agent CLI binaries on this machine, for tests that run them
 * outside a bottle: unpacked once from the pinned tarballs that
 * `scripts/setup` (building the provider images) leaves in .cache/provider-clis.
 * BOTTLE_TEST_CLAUDE_BIN / BOTTLE_TEST_CODEX_BIN point at other binaries.
 * Synchronous, because test names and skips are decided at collection time.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { arch } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from '../../controller/package-root.js'
import { tarballName, tarballPath, type PackagePin } from '../../controller/runtime/docker/provider-cli-packages.js'

const INSIDE: Record<'claude' | 'codex', Record<'x64' | 'arm64', string>> = {
  claude: { x64: 'package/claude', arm64: 'package/claude' },
  codex: { x64: 'package/vendor/x86_64-unknown-linux-musl/bin/codex', arm64: 'package/vendor/aarch64-unknown-linux-musl/bin/codex' },
}

export type CliBinary = { path: string } | { missing: string }

export function providerCliBinary(provider: 'claude' | 'codex'): CliBinary {
  const override = process.env[provider === 'claude' ? 'BOTTLE_TEST_CLAUDE_BIN' : 'BOTTLE_TEST_CODEX_BIN']
  if (override) return existsSync(override) ? { path: override } : { missing: `${override} (from the environment) does not exist` }
  const root = packageRoot()
  const cpu = arch() === 'arm64' ? 'arm64' : 'x64'
  const pins = JSON.parse(readFileSync(join(root, 'images/provider-clis.json'), 'utf8')) as Record<string, { packages: Record<string, PackagePin> }>
  const pin = pins[provider]!.packages[cpu]!
  const tarball = tarballPath(join(root, '.cache'), pin)
  const unpacked = join(root, '.cache', 'provider-cli-bin', tarballName(pin).replace(/\.tgz$/, ''))
  const binary = join(unpacked, INSIDE[provider][cpu])
  if (existsSync(binary)) return { path: binary }
  if (!existsSync(tarball)) return { missing: `${tarball} is missing; run scripts/setup (it fetches the pinned CLIs for the agent images)` }
  // Unpacked beside, then renamed: a half-unpacked folder is never taken for a whole one.
  const partial = `${unpacked}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', partial])
  rmSync(unpacked, { recursive: true, force: true })
  renameSync(partial, unpacked)
  return { path: binary }
}
