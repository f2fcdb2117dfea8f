import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { findPackageRoot } from '../../../controller/package-root.js'

describe('findPackageRoot', () => {
  it('finds the repository from source and from a compiled layout under dist/', () => {
    const repo = resolve(import.meta.dirname, '../../..')
    expect(findPackageRoot(join(repo, 'controller/package-root.ts'))).toBe(repo)
    expect(findPackageRoot(join(repo, 'dist/controller/package-root.js'))).toBe(repo)
  })

  it('skips other packages on the way up and fails clearly when there is none', () => {
    const root = mkdtempSync(join(tmpdir(), 'bottle-root-'))
    try {
      mkdirSync(join(root, 'images'))
      writeFileSync(join(root, 'package.json'), '{"name":"bottle"}')
      mkdirSync(join(root, 'node_modules/other/lib'), { recursive: true })
      writeFileSync(join(root, 'node_modules/other/package.json'), '{"name":"other"}')
      expect(findPackageRoot(join(root, 'node_modules/other/lib/x.js'))).toBe(root)
      expect(() => findPackageRoot('/nonexistent/place/x.js')).toThrow(/cannot find the bottle package/)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
