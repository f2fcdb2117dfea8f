/**
 * Finds the bottle package's own folder (where crds/, images/ and dist/
 * live), whether this code runs compiled from dist/ or from source under
 * vitest.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function isBottleRoot(dir: string): boolean {
  const manifest = join(dir, 'package.json')
  if (!existsSync(manifest) || !existsSync(join(dir, 'images'))) return false
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'bottle'
  } catch {
    return false
  }
}

export function findPackageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from)
  for (;;) {
    if (isBottleRoot(dir)) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the bottle package (a package.json named "bottle" beside images/) above ${from}`)
    dir = parent
  }
}

let cached: string | undefined

/** This installation's package folder, found once. */
export function packageRoot(): string {
  cached ??= findPackageRoot()
  return cached
}
