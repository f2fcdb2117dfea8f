import { describe, expect, it } from 'vitest'
import { pathOfGitHeader, pathOfName, readQuotedPath } from '../../../../sidecars/git-gate/quoted-path.js'

describe('readQuotedPath', () => {
  const cases = [
    { input: '"a\\tb"', want: 'a\tb' },
    { input: '"q\\"uote\\\\back"', want: 'q"uote\\back' },
    { input: '"\\303\\251t\\303\\251"', want: 'été' },
    { input: '"nl\\nx" rest', want: 'nl\nx', rest: ' rest' },
  ]
  it.each(cases)('$input', ({ input, want, rest }) => {
    expect(readQuotedPath(input)).toEqual({ path: want, rest: rest ?? '' })
  })
  it.each(['plain', '"unterminated', '"bad \\q escape"', '"trailing \\'])('refuses %j', (input) => {
    expect(readQuotedPath(input)).toBeUndefined()
  })
})

describe('pathOfGitHeader', () => {
  const cases = [
    { rest: 'a/x.txt b/x.txt', want: 'x.txt' },
    { rest: 'a/a b/c d b/a b/c d', want: 'a b/c d' },
    { rest: 'a/ b/  b/ b/ ', want: ' b/ ' },
    { rest: '"a/t\\tx" "b/t\\tx"', want: 't\tx' },
    { rest: 'a/old b/new', want: undefined },
    { rest: '"a/x" "b/y"', want: undefined },
  ]
  it.each(cases)('$rest', ({ rest, want }) => {
    expect(pathOfGitHeader(rest)).toBe(want)
  })
})

describe('pathOfName', () => {
  it('strips the prefix and the tab git adds after names with spaces', () => {
    expect(pathOfName('b/with space.txt\t', 'b/')).toBe('with space.txt')
    expect(pathOfName('"b/q\\"x"', 'b/')).toBe('q"x')
    expect(pathOfName('/dev/null', 'b/')).toBeUndefined()
  })
})
