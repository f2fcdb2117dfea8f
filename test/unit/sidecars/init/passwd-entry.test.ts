import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ensurePasswdEntry } from '../../../../sidecars/init/passwd-entry.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

const BASE = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'

describe('ensurePasswdEntry', () => {
  let dir: TempFolder
  beforeEach(async () => {
    dir = await TempFolder.create()
  })
  afterEach(async () => {
    await dir.dispose()
  })

  it('adds an entry for a uid the image does not know, keeping the image entries', async () => {
    await dir.write('passwd.base', BASE)
    const result = await ensurePasswdEntry({ basePath: dir.join('passwd.base'), passwdPath: dir.join('passwd'), uid: 1234, gid: 1234, home: '/var/lib/bottle' })
    expect(result).toBe('written')
    expect(await dir.read('passwd')).toBe(`${BASE}bottle:x:1234:1234:bottle sidecars:/var/lib/bottle:/usr/sbin/nologin\n`)
  })

  it('adds nothing for a uid the image knows', async () => {
    await dir.write('passwd.base', BASE)
    expect(await ensurePasswdEntry({ basePath: dir.join('passwd.base'), passwdPath: dir.join('passwd'), uid: 65534, gid: 65534, home: '/x' })).toBe('present')
    expect(await dir.read('passwd')).toBe(BASE)
  })

  it('does nothing outside the bundle image (no base file)', async () => {
    expect(await ensurePasswdEntry({ basePath: dir.join('missing'), passwdPath: dir.join('passwd'), uid: 1, gid: 1, home: '/x' })).toBe('unsupported')
    expect(await dir.readOptional('passwd')).toBeUndefined()
  })
})
