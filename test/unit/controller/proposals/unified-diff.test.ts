import { describe, expect, it } from 'vitest'
import { unifiedDiff } from '../../../../controller/proposals/unified-diff.js'

const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `l${i + from}`)

describe('unifiedDiff', () => {
  const cases: { name: string; before: string; after: string; want: string }[] = [
    { name: 'no change', before: 'a\n', after: 'a\n', want: '' },
    {
      name: 'an insertion in the middle, with three lines of context each side',
      before: [...lines(10), ''].join('\n'),
      after: [...lines(5), 'new1', 'new2', ...lines(5, 6), ''].join('\n'),
      want: '--- a/f.yaml\n+++ b/f.yaml\n@@ -3,6 +3,8 @@\n l3\n l4\n l5\n+new1\n+new2\n l6\n l7\n l8\n',
    },
    {
      name: 'an insertion at the end',
      before: 'a\nb\n',
      after: 'a\nb\nc\n',
      want: '--- a/f.yaml\n+++ b/f.yaml\n@@ -1,2 +1,3 @@\n a\n b\n+c\n',
    },
    {
      name: 'an insertion into an empty file',
      before: '',
      after: 'a\n',
      want: '--- a/f.yaml\n+++ b/f.yaml\n@@ -0,0 +1 @@\n+a\n',
    },
    {
      name: 'a last line that gains its newline',
      before: 'a\nb',
      after: 'a\nb\nc\n',
      want: '--- a/f.yaml\n+++ b/f.yaml\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n',
    },
    {
      name: 'a changed line',
      before: 'a\nb\nc\n',
      after: 'a\nB\nc\n',
      want: '--- a/f.yaml\n+++ b/f.yaml\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n',
    },
  ]
  it.each(cases)('$name', ({ before, after, want }) => {
    expect(unifiedDiff('f.yaml', before, after)).toBe(want)
  })
})
