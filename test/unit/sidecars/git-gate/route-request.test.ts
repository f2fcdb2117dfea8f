import { describe, expect, it } from 'vitest'
import { GateRejection } from '../../../../sidecars/git-gate/gate-rejection.js'
import { routeRequest } from '../../../../sidecars/git-gate/route-request.js'

describe('routeRequest', () => {
  const served = [
    { method: 'GET', target: '/app.git/info/refs?service=git-upload-pack', want: { kind: 'advertise', repo: 'app', service: 'git-upload-pack' } },
    { method: 'GET', target: '/app.git/info/refs?service=git-receive-pack', want: { kind: 'advertise', repo: 'app', service: 'git-receive-pack' } },
    { method: 'GET', target: '/my.lib_2.git/info/refs?x=1&service=git-upload-pack', want: { kind: 'advertise', repo: 'my.lib_2', service: 'git-upload-pack' } },
    { method: 'POST', target: '/app.git/git-upload-pack', want: { kind: 'rpc', repo: 'app', service: 'git-upload-pack' } },
    { method: 'POST', target: '/app.git/git-receive-pack', want: { kind: 'rpc', repo: 'app', service: 'git-receive-pack' } },
    { method: 'POST', target: '/...git/git-upload-pack', want: { kind: 'rpc', repo: '..', service: 'git-upload-pack' } },
  ]
  it.each(served.filter((c) => c.want.repo !== '..'))('$method $target', ({ method, target, want }) => {
    expect(routeRequest(method, target)).toEqual(want)
  })

  const refused: Array<{ method: string; target: string | undefined; code: string }> = [
    { method: 'GET', target: undefined, code: 'bad-path' },
    { method: 'GET', target: 'app.git/info/refs', code: 'bad-path' },
    { method: 'GET', target: '/../etc/passwd', code: 'bad-path' },
    { method: 'GET', target: '/app.git/../../x.git/info/refs?service=git-upload-pack', code: 'bad-path' },
    { method: 'GET', target: '/%2e%2e/app.git/info/refs?service=git-upload-pack', code: 'bad-path' },
    { method: 'GET', target: '/app%2egit/info/refs?service=git-upload-pack', code: 'bad-path' },
    { method: 'GET', target: '//app.git/info/refs?service=git-upload-pack', code: 'bad-path' },
    { method: 'GET', target: '/a\\b.git/info/refs?service=git-upload-pack', code: 'bad-path' },
    { method: 'GET', target: '/..git/info/refs?service=git-upload-pack', code: 'bad-path' },
    { method: 'GET', target: '/...git/info/refs?service=git-upload-pack', code: 'bad-path' },
    { method: 'GET', target: `/${'a'.repeat(3000)}.git/info/refs`, code: 'bad-path' },
    { method: 'GET', target: '/app/info/refs?service=git-upload-pack', code: 'not-found' },
    { method: 'GET', target: '/owner/app.git/info/refs?service=git-upload-pack', code: 'not-found' },
    { method: 'GET', target: '/app.git/info/refs', code: 'dumb-http' },
    { method: 'GET', target: '/app.git/HEAD', code: 'dumb-http' },
    { method: 'GET', target: '/app.git/objects/info/packs', code: 'dumb-http' },
    { method: 'GET', target: '/app.git/info/refs?service=git-upload-archive', code: 'bad-request' },
    { method: 'POST', target: '/app.git/info/refs?service=git-upload-pack', code: 'method-not-allowed' },
    { method: 'GET', target: '/app.git/git-upload-pack', code: 'method-not-allowed' },
    { method: 'PUT', target: '/app.git/git-receive-pack', code: 'method-not-allowed' },
    { method: 'POST', target: '/app.git/git-receive-pack?x=1', code: 'bad-request' },
  ]
  it.each(refused)('refuses $method $target as $code', ({ method, target, code }) => {
    const got = routeRequest(method, target)
    expect(got).toBeInstanceOf(GateRejection)
    expect((got as GateRejection).code).toBe(code)
    expect((got as GateRejection).reason).not.toMatch(/\n/)
  })

  it('never takes "." or ".." as a repository name', () => {
    expect((routeRequest('POST', '/...git/git-upload-pack') as GateRejection).code).toBe('bad-path')
    expect((routeRequest('POST', '/..git/git-upload-pack') as GateRejection).code).toBe('bad-path')
  })
})
