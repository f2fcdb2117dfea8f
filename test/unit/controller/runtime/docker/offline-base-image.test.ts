import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { offlineBaseRef, readPackageList } from '../../../../../controller/runtime/docker/offline-base-image.js'

describe('readPackageList', () => {
  it('drops comments and blank lines and sorts', () => {
    expect(readPackageList('# tools\ngit\n\ncurl  # for tests\n  ca-certificates\n')).toEqual(['ca-certificates', 'curl', 'git'])
  })
})

describe('offlineBaseRef', () => {
  let root: string
  // offlineBaseRef never calls the engine; a client pointing nowhere proves it.
  const docker = new Dockerode({ socketPath: '/nonexistent/docker.sock' })
  const ref = () => offlineBaseRef({ docker, packageRoot: root, nodeBinary: join(root, 'node') })

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bottle-base-ref-'))
    mkdirSync(join(root, 'images/base'), { recursive: true })
    writeFileSync(join(root, 'images/base/packages.txt'), 'git\ncurl\n')
    writeFileSync(join(root, 'images/base/build-rootfs.sh'), '#!/bin/sh\n')
    writeFileSync(join(root, 'node'), 'node v1')
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  it('is bottle-base:<12 hex> and stable', async () => {
    const first = await ref()
    expect(first).toMatch(/^bottle-base:[0-9a-f]{12}$/)
    expect(await ref()).toBe(first)
  })

  const changes = [
    { name: 'the node binary', change: () => writeFileSync(join(root, 'node'), 'node v2') },
    { name: 'the package list', change: () => writeFileSync(join(root, 'images/base/packages.txt'), 'git\ncurl\nprocps\n') },
    { name: 'the build script', change: () => writeFileSync(join(root, 'images/base/build-rootfs.sh'), '#!/bin/sh\nset -e\n') },
  ]
  it.each(changes)('changes with $name', async ({ change }) => {
    const before = await ref()
    change()
    expect(await ref()).not.toBe(before)
  })

  it('ignores package list order and comments', async () => {
    const before = await ref()
    writeFileSync(join(root, 'images/base/packages.txt'), '# same packages\ncurl\ngit\n')
    expect(await ref()).toBe(before)
  })
})
