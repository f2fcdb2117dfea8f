/** The egress daemon as the sidecar image runs it: an esbuild bundle of sidecars/egress/main.ts. */
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../..')

export async function bundleEgress(outDir: string): Promise<string> {
  const outfile = join(outDir, 'egress.mjs')
  await build({
    entryPoints: [join(repoRoot, 'sidecars/egress/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __bottleCreateRequire } from 'node:module';const require = __bottleCreateRequire(import.meta.url);" },
  })
  return outfile
}
