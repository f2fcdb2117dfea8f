import { describe, expect, it } from 'vitest'
import { addRouteToSpecText, RouteEditError, type EditTarget, type RouteToAdd } from '../../../../controller/proposals/add-route-edit.js'

const DOCS: RouteToAdd = { host: 'docs.example.com' }
const DOCS_WITH_PATHS: RouteToAdd = { host: 'docs.example.com', paths: ['/v1/', '/a b'] }
const YAML: EditTarget = { format: 'yaml', documentIndex: 0 }

/** Each case: the file before, and exactly the text the edit must insert (`^^^` marks where). */
const cases: { name: string; target?: EditTarget; route?: RouteToAdd; before: string; after: string }[] = [
  {
    name: 'a block list keeps its comments and gets one more item at its indentation',
    before: `# the dev box
apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}   # short name
spec:
  egress:
    routes:
      - host: a.example.com   # first
        paths: ["/x"]
      # between
      - host: 'b.example.com'
    # private ranges
    allowPrivate: [1.2.3.4/32]
  env: {A: b}
`,
    after: `# the dev box
apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}   # short name
spec:
  egress:
    routes:
      - host: a.example.com   # first
        paths: ["/x"]
      # between
      - host: 'b.example.com'
      - host: docs.example.com
    # private ranges
    allowPrivate: [1.2.3.4/32]
  env: {A: b}
`,
  },
  {
    name: 'an indentless list',
    route: DOCS_WITH_PATHS,
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n    - host: a.example.com\n  env: {}\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n    - host: a.example.com\n    - host: docs.example.com\n      paths: [/v1/, "/a b"]\n  env: {}\n',
  },
  {
    name: 'a flow list, with a comment after it',
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes: [{host: a.example.com}]  # one\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes: [{host: a.example.com}, {host: docs.example.com}]  # one\n',
  },
  {
    name: 'an empty flow list',
    route: DOCS_WITH_PATHS,
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes: []\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes: [{host: docs.example.com, paths: [/v1/, "/a b"]}]\n',
  },
  {
    name: 'a routes key with nothing after it but a comment',
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes: # none yet\n  env: {}\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes: # none yet\n      - host: docs.example.com\n  env: {}\n',
  },
  {
    name: 'an egress section without routes',
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    dlp: {action: warn}\n  env: {A: b}\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    dlp: {action: warn}\n    routes:\n      - host: docs.example.com\n  env: {A: b}\n',
  },
  {
    name: 'a flow egress section',
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress: {allowPrivate: [10.1.2.3/32]}\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress: {allowPrivate: [10.1.2.3/32], routes: [{host: docs.example.com}]}\n',
  },
  {
    name: 'no egress section at all, before a trailing comment',
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  image: {provider: claude}\n  env:\n    A: b\n# end\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  image: {provider: claude}\n  env:\n    A: b\n  egress:\n    routes:\n      - host: docs.example.com\n# end\n',
  },
  {
    name: 'a flow spec',
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec: {env: {A: b}}\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec: {env: {A: b}, egress: {routes: [{host: docs.example.com}]}}\n',
  },
  {
    name: 'a file without a final newline',
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: a.example.com',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: a.example.com\n      - host: docs.example.com\n',
  },
  {
    name: 'CRLF line endings',
    before: 'kind: Bottle\r\nmetadata: {name: dev}\r\nspec:\r\n  egress:\r\n    routes:\r\n      - host: a.example.com\r\n',
    after: 'kind: Bottle\r\nmetadata: {name: dev}\r\nspec:\r\n  egress:\r\n    routes:\r\n      - host: a.example.com\r\n      - host: docs.example.com\r\n',
  },
  {
    name: 'a wildcard host and an approver upstream, quoted where YAML needs it',
    route: { host: '*.docs.example.com', upstream: 'http://10.0.0.1:8080' },
    before: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: a.example.com\n',
    after: 'kind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: a.example.com\n      - host: "*.docs.example.com"\n        upstream: "http://10.0.0.1:8080"\n',
  },
  {
    name: 'the second document of a multi-document file; the others stay byte for byte',
    target: { format: 'yaml', documentIndex: 1 },
    before: `kind: Bottle
metadata: {name: base}
spec:
  egress:
    routes:
      - host: base.example.com
---
# the dev bottle
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: dev.example.com
---
kind: Agent
metadata: {name: impl}
spec: {bottle: dev}
`,
    after: `kind: Bottle
metadata: {name: base}
spec:
  egress:
    routes:
      - host: base.example.com
---
# the dev bottle
kind: Bottle
metadata: {name: dev}
spec:
  egress:
    routes:
      - host: dev.example.com
      - host: docs.example.com
---
kind: Agent
metadata: {name: impl}
spec: {bottle: dev}
`,
  },
  {
    name: 'a Markdown Bottle with nested frontmatter; the body is untouched',
    target: { format: 'markdown', documentIndex: 0 },
    before: '---\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: a.example.com\n---\n# Dev\n\nspec:\n  egress: not yaml here\n',
    after: '---\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: a.example.com\n      - host: docs.example.com\n---\n# Dev\n\nspec:\n  egress: not yaml here\n',
  },
  {
    name: 'a flat Markdown Bottle (fields at the top, the older layout)',
    target: { format: 'markdown', documentIndex: 0 },
    before: '---\n# bottles/dev.md\nenv: {A: b}\negress:\n  routes:\n    - host: a.example.com\n---\nNotes.\n',
    after: '---\n# bottles/dev.md\nenv: {A: b}\negress:\n  routes:\n    - host: a.example.com\n    - host: docs.example.com\n---\nNotes.\n',
  },
  {
    name: 'a flat Markdown Bottle without egress',
    target: { format: 'markdown', documentIndex: 0 },
    before: '---\nenv:\n  A: b\n---\nNotes.\n',
    after: '---\nenv:\n  A: b\negress:\n  routes:\n    - host: docs.example.com\n---\nNotes.\n',
  },
]

describe('addRouteToSpecText', () => {
  it.each(cases)('$name', ({ target, route, before, after }) => {
    expect(addRouteToSpecText(before, target ?? YAML, route ?? DOCS)).toBe(after)
  })

  const refused: { name: string; target?: EditTarget; before: string; want: RegExp }[] = [
    { name: 'routes that are not a list', before: 'kind: Bottle\nspec:\n  egress:\n    routes: {host: a}\n', want: /spec\.egress\.routes is not a list/ },
    { name: 'routes written as an explicit null', before: 'kind: Bottle\nspec:\n  egress:\n    routes: null\n', want: /spec\.egress\.routes is not a list/ },
    { name: 'egress that is not a mapping', before: 'kind: Bottle\nspec:\n  egress: [a]\n', want: /spec\.egress is not a mapping/ },
    { name: 'a document index past the end', target: { format: 'yaml', documentIndex: 3 }, before: 'kind: Bottle\nspec: {}\n', want: /no mapping at document 4/ },
    { name: 'broken YAML', before: 'kind: Bottle\nspec: {egress: [\n', want: /not valid YAML/ },
    { name: 'Markdown without frontmatter', target: { format: 'markdown', documentIndex: 0 }, before: '# just notes\n', want: /no YAML frontmatter/ },
  ]
  it.each(refused)('refuses $name', ({ target, before, want }) => {
    expect(() => addRouteToSpecText(before, target ?? YAML, DOCS)).toThrow(RouteEditError)
    expect(() => addRouteToSpecText(before, target ?? YAML, DOCS)).toThrow(want)
  })
})
