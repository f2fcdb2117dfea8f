#!/usr/bin/env node
// Bundles each sidecar daemon (sidecars/<daemon>/main.ts) into one ESM file
// under dist/sidecars-bundle/, so the sidecars image needs only `node` and
// no node_modules. Daemons whose main.ts does not exist yet are skipped.
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))

// Some dependencies are CommonJS and call require(); an ESM bundle has no
// require unless we create one.
const banner =
  "import { createRequire as __bottleCreateRequire } from 'node:module';" +
  'const require = __bottleCreateRequire(import.meta.url);'

/**
 * @param {{ root?: string, outdir?: string }} [options]
 * @returns {Promise<string[]>} the daemons bundled
 */
export async function bundleSidecars(options = {}) {
  const root = options.root ?? resolve(here, '..')
  const outdir = options.outdir ?? join(root, 'dist', 'sidecars-bundle')
  const sidecarsDir = join(root, 'sidecars')
  const daemons = readdirSync(sidecarsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(sidecarsDir, entry.name, 'main.ts')))
    .map((entry) => entry.name)
    .sort()
  mkdirSync(outdir, { recursive: true })
  await Promise.all(
    daemons.map((daemon) =>
      build({
        entryPoints: [join(sidecarsDir, daemon, 'main.ts')],
        outfile: join(outdir, `${daemon}.mjs`),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        banner: { js: banner },
        logLevel: 'warning',
        legalComments: 'none',
      }),
    ),
  )
  return daemons
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now()
  const daemons = await bundleSidecars()
  process.stdout.write(
    `bundle-sidecars: ${daemons.length ? daemons.join(', ') : 'no daemons'} in ${Date.now() - started} ms\n`,
  )
}
