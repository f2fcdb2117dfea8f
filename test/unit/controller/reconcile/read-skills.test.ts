import { symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readSkills } from '../../../../controller/reconcile/read-skills.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

let repo: TempFolder
beforeEach(async () => {
  repo = await TempFolder.create('bottle-skills-')
  await repo.write('skills/review/SKILL.md', '# review\n')
  await repo.write('skills/review/scripts/check.sh', 'echo ok\n')
  await repo.write('skills/review/.DS_Store', 'junk')
})
afterEach(async () => {
  await repo.dispose()
})

describe('readSkills', () => {
  it('reads every file of each named skill as text, leaving dot files out', () => {
    const skills = readSkills(repo.path, ['review'])
    expect([...skills.get('review')!]).toEqual([['SKILL.md', '# review\n'], ['scripts/check.sh', 'echo ok\n']])
  })

  it('says which skill is missing', () => {
    expect(() => readSkills(repo.path, ['nope'])).toThrow('skill nope: skills/nope/ not found in the spec repo')
  })

  it('refuses a symlink, which could point anywhere on the controller machine', async () => {
    await symlink('/etc/hostname', join(repo.path, 'skills/review/host'))
    expect(() => readSkills(repo.path, ['review'])).toThrow('skills/review/host is not a regular file')
  })

  it('refuses a file that is not UTF-8 text', async () => {
    await repo.write('skills/review/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00]))
    expect(() => readSkills(repo.path, ['review'])).toThrow('skills/review/logo.png is not UTF-8 text')
  })
})
