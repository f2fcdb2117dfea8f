/**
 * The gate as it ships: sidecars/git-gate/main.ts (and the bundle's init)
 * bundled by esbuild the way scripts/bundle-sidecars.mjs does it, into a
 * temp folder. The host-process tests run git-gate.mjs with node; the
 * container tests build the real sidecars image from the folder.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'

const repoRoot = resolve(import.meta.dirname, '../../../../..')

const banner = "import { createRequire as __bottleCreateRequire } from 'node:module';const require = __bottleCreateRequire(import.meta.url);"

export interface GateBundle {
  dir: string
  gate: string
  dispose(): void
}

export async function bundleGate(daemons: readonly string[] = ['git-gate']): Promise<GateBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'bottle-git-gate-bundle-'))
  for (const daemon of daemons) {
    await build({
      entryPoints: [join(repoRoot, 'sidecars', daemon, 'main.ts')],
      outfile: join(dir, `${daemon}.mjs`),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: banner },
      logLevel: 'error',
      legalComments: 'none',
    })
  }
  return { dir, gate: join(dir, 'git-gate.mjs'), dispose: () => rmSync(dir, { recursive: true, force: true }) }
}
