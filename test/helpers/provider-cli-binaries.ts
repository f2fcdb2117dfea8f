/**
 * The real agent CLI binaries on this machine, for tests that run them
 * outside a bottle: the pinned tarballs of the agent images (fetched into
 * .cache/provider-clis and checked against the pin when missing, as an image
 * build would), unpacked once. BOTTLE_TEST_CLAUDE_BIN / BOTTLE_TEST_CODEX_BIN
 * point at other binaries.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { arch } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { packageRoot } from '../../controller/package-root.js'
import { ensurePinnedTarball, readProviderCliPin, tarballName, type CliProvider } from '../../controller/runtime/docker/provider-cli-packages.js'

const INSIDE: Record<CliProvider, Record<'x64' | 'arm64', string>> = {
  claude: { x64: 'package/claude', arm64: 'package/claude' },
  codex: { x64: 'package/vendor/x86_64-unknown-linux-musl/bin/codex', arm64: 'package/vendor/aarch64-unknown-linux-musl/bin/codex' },
}

export async function providerCliBinary(provider: CliProvider): Promise<string> {
  const override = process.env[provider === 'claude' ? 'BOTTLE_TEST_CLAUDE_BIN' : 'BOTTLE_TEST_CODEX_BIN']
  if (override) {
    if (!existsSync(override)) throw new Error(`${override} (from the environment) does not exist`)
    return override
  }
  const root = packageRoot()
  const cpu = arch() === 'arm64' ? 'arm64' : 'x64'
  const pin = (await readProviderCliPin(root, provider)).packages[cpu]
  const unpacked = join(root, '.cache', 'provider-cli-bin', tarballName(pin).replace(/\.tgz$/, ''))
  const binary = join(unpacked, INSIDE[provider][cpu])
  if (existsSync(binary)) return binary
  const tarball = await ensurePinnedTarball(pin, { cacheDir: join(root, '.cache') })
  // Unpacked beside, then renamed: a half-unpacked folder is never taken for a whole one.
  const partial = `${unpacked}.partial-${process.pid}`
  await rm(partial, { recursive: true, force: true })
  await mkdir(partial, { recursive: true })
  await promisify(execFile)('tar', ['-xzf', tarball, '-C', partial])
  await rm(unpacked, { recursive: true, force: true })
  await rename(partial, unpacked)
  return binary
}
