import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

/**
 * The folder holding bottle's package.json, whether the code runs from
 * source (vitest) or from dist/. crds/, images/ and dist/ are found from it.
 */
export function packageRoot(): string {
  if (cached) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }
      if (name === 'bottle') return (cached = dir)
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the bottle package root (package.json named "bottle")')
    dir = parent
  }
}
