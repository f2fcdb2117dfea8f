import { describe, expect, it } from 'vitest'
import { forwardArgs, parsePorcelain, upstreamMessages } from '../../../../sidecars/git-gate/forward-push.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const Z = '0'.repeat(40)

describe('forwardArgs', () => {
  it('leases each ref on the value the agent saw and sends the pushed object, atomically', () => {
    expect(
      forwardArgs('ssh://git@host/app.git', [
        { oldId: A, newId: B, ref: 'refs/heads/main' },
        { oldId: Z, newId: B, ref: 'refs/heads/new' },
        { oldId: A, newId: Z, ref: 'refs/heads/gone' },
      ]),
    ).toEqual([
      'push',
      '--porcelain',
      '--atomic',
      '--no-verify',
      '--no-progress',
      `--force-with-lease=refs/heads/main:${A}`,
      '--force-with-lease=refs/heads/new:',
      `--force-with-lease=refs/heads/gone:${A}`,
      'ssh://git@host/app.git',
      `+${B}:refs/heads/main`,
      `+${B}:refs/heads/new`,
      ':refs/heads/gone',
    ])
  })

  it('keeps a ref name with shell metacharacters as one argument', () => {
    const ref = 'refs/heads/$(touch x);`y`|z'
    const args = forwardArgs('https://h/r.git', [{ oldId: A, newId: B, ref }])
    expect(args).toContain(`+${B}:${ref}`)
    expect(args).toContain(`--force-with-lease=${ref}:${A}`)
  })
})

describe('parsePorcelain', () => {
  it('reads each ref line', () => {
    const stdout = `To ssh://git@host/app.git\n \t${B}:refs/heads/main\t${A.slice(0, 7)}..${B.slice(0, 7)}\n*\t${B}:refs/heads/new\t[new branch]\n!\t${B}:refs/heads/x\t[rejected] (stale info)\n-\t:refs/heads/gone\t[deleted]\nDone\n`
    expect(parsePorcelain(stdout)).toEqual([
      { flag: ' ', ref: 'refs/heads/main', summary: `${A.slice(0, 7)}..${B.slice(0, 7)}` },
      { flag: '*', ref: 'refs/heads/new', summary: '[new branch]' },
      { flag: '!', ref: 'refs/heads/x', summary: '[rejected] (stale info)' },
      { flag: '-', ref: 'refs/heads/gone', summary: '[deleted]' },
    ])
  })
})

describe('upstreamMessages', () => {
  it('keeps what upstream said, drops progress, hints and terminal escapes', () => {
    const stderr = 'remote: Counting objects: 1\rremote: Counting objects: 100%, done.\nremote: \u001b[31mGH006: Protected branch update failed\u001b[0m\nhint: Updates were rejected\nTo ssh://git@host/app.git\nerror: failed to push some refs to host\n'
    expect(upstreamMessages(stderr)).toEqual([
      'remote: Counting objects: 100%, done.',
      'remote: GH006: Protected branch update failed',
      'error: failed to push some refs to host',
    ])
  })
})
