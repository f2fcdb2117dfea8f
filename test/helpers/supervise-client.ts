import { build } from 'esbuild'
import { packageRoot } from '../../controller/package-root.js'

/**
 * An MCP client for inside an agent's box, bundled to one ES module file
 * (the SDK included) so it runs with the box's node alone.
 */
export async function bundleBoxClient(source: string): Promise<string> {
  const out = await build({
    stdin: { contents: source, resolveDir: packageRoot(), sourcefile: 'supervise-client.mjs', loader: 'js' },
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  })
  return out.outputFiles[0]!.text
}
