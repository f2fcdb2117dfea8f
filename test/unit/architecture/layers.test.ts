import { execFile } from 'node:child_process'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findPackageRoot } from '../../../controller/package-root.js'
import { TempFolder } from '../../helpers/temp-folder.js'

const run = promisify(execFile)
const repo = findPackageRoot()

/**
 * A tree shaped like the repository where every layer rule is broken once
 * and one import of each kind that is allowed is made, cruised with the
 * repository's own configuration and the same command `npm run lint:layers`
 * runs. It proves the lint can fail, and fails on nothing it should allow.
 */
const TREE: Record<string, string> = {
  'controller/package-root.ts': `import { a } from './spec/a.js'\nexport const root = a`,
  'controller/atomic-write.ts': `export const write = 1`,
  // a <-> b: a cycle inside one layer
  'controller/spec/a.ts': `import { b } from './b.js'\nexport const a = 1 + b`,
  'controller/spec/b.ts': `import { a } from './a.js'\nexport const b = a`,
  'controller/spec/reads-plan.ts': `import { desired } from '../plan/desired.js'\nexport const x = desired`,
  'controller/plan/desired.ts': `import { write } from '../atomic-write.js'\nimport { a } from '../spec/a.js'\nexport const desired = a + write`,
  'controller/plan/reads-status.ts': `import type { Route } from '../status/types.js'\nexport const r: Route | undefined = undefined`,
  'controller/plan/reads-proposals.ts': `import { intake } from '../proposals/intake.js'\nexport const i = intake`,
  'controller/plan/reads-driver.ts': `import { driver } from '../runtime/driver.js'\nexport const d = driver`,
  'controller/status/types.ts': `import { desired } from '../plan/desired.js'\nexport type Route = { host: string; n: typeof desired }`,
  'controller/status/reads-driver.ts': `import { driver } from '../runtime/driver.js'\nexport const d = driver`,
  'controller/status/reads-reconcile.ts': `import { reconcile } from '../reconcile/reconciler.js'\nexport const r = reconcile`,
  'controller/runtime/driver.ts': `import { desired } from '../plan/desired.js'\nexport const driver = desired`,
  'controller/runtime/docker/docker-driver.ts': `import { driver } from '../driver.js'\nimport { fake } from '../fake/fake-driver.js'\nexport const docker = driver + fake`,
  'controller/runtime/fake/fake-driver.ts': `import { reconcile } from '../../reconcile/reconciler.js'\nexport const fake = reconcile`,
  'controller/proposals/intake.ts': `import { reconcile } from '../reconcile/reconciler.js'\nexport const intake = reconcile`,
  'controller/reconcile/reconciler.ts': `import { desired } from '../plan/desired.js'\nimport type { Route } from '../status/types.js'\nexport const reconcile = desired\nexport type R = Route`,
  'controller/reconcile/reads-cli.ts': `import { cli } from '../cli/main.js'\nexport const c = cli`,
  'controller/cli/main.ts': `import { reconcile } from '../reconcile/reconciler.js'\nimport { intake } from '../proposals/intake.js'\nexport const cli = reconcile + intake`,
  'controller/reconcile/reads-missing.ts': `import { gone } from './gone.js'\nexport const g = gone`,
  'sidecars/dlp/scan.ts': `import { proxy } from '../egress/proxy.js'\nexport const scan = proxy`,
  'sidecars/shared/log.ts': `import { gate } from '../git-gate/gate.js'\nexport const log = gate`,
  'sidecars/egress/proxy.ts': `import { a } from '../../controller/spec/a.js'\nexport const proxy = a`,
  'sidecars/git-gate/gate.ts': `import { log } from '../shared/log.js'\nexport const gate = log`,
}

/** rule: importer -> imported, for every violation the lint must report. */
const EXPECTED = [
  // a cycle is reported once, at the edge the cruise meets first
  'no-cycles: controller/spec/a.ts -> controller/spec/b.ts',
  'controller-leaves: controller/package-root.ts -> controller/spec/a.ts',
  'spec-is-the-base: controller/spec/reads-plan.ts -> controller/plan/desired.ts',
  'plan-is-pure: controller/plan/reads-status.ts -> controller/status/types.ts',
  'plan-is-pure: controller/plan/reads-proposals.ts -> controller/proposals/intake.ts',
  'plan-is-pure: controller/plan/reads-driver.ts -> controller/runtime/driver.ts',
  'status-below-reconcile: controller/status/reads-driver.ts -> controller/runtime/driver.ts',
  'status-below-reconcile: controller/status/reads-reconcile.ts -> controller/reconcile/reconciler.ts',
  'drivers-are-independent: controller/runtime/docker/docker-driver.ts -> controller/runtime/fake/fake-driver.ts',
  'runtime-below-reconcile: controller/runtime/fake/fake-driver.ts -> controller/reconcile/reconciler.ts',
  'proposals-below-reconcile: controller/proposals/intake.ts -> controller/reconcile/reconciler.ts',
  'cli-is-the-top: controller/reconcile/reads-cli.ts -> controller/cli/main.ts',
  'resolvable: controller/reconcile/reads-missing.ts -> ./gone.js',
  'dlp-is-the-base: sidecars/dlp/scan.ts -> sidecars/egress/proxy.ts',
  'shared-below-daemons: sidecars/shared/log.ts -> sidecars/git-gate/gate.ts',
  'sidecars-stand-alone: sidecars/egress/proxy.ts -> controller/spec/a.ts',
  // the git gate's import of shared is allowed, but it closes the loop shared -> git-gate -> shared
  'no-cycles: sidecars/git-gate/gate.ts -> sidecars/shared/log.ts',
]

interface Violation {
  from: string
  to: string
  rule: { name: string }
}

describe('the layer lint', () => {
  let tree: TempFolder
  let violations: string[]

  beforeAll(async () => {
    tree = await TempFolder.create('bottle-layers-')
    for (const [path, content] of Object.entries(TREE)) await tree.write(path, content + '\n')
    await copyFile(join(repo, 'tsconfig.json'), join(tree.path, 'tsconfig.json'))
    const bin = join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs')
    const args = [bin, 'controller', 'sidecars', '--config', join(repo, '.dependency-cruiser.cjs'), '--output-type', 'json']
    // Violations make the command exit non-zero; the report on stdout is what is checked.
    const stdout = await run(process.execPath, args, { cwd: tree.path, maxBuffer: 16 << 20 }).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    )
    const report = JSON.parse(stdout) as { summary: { violations: Violation[] } }
    violations = report.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)
  }, 60_000)

  afterAll(async () => {
    await tree?.dispose()
  })

  it('reports every broken rule, type-only imports included, and nothing else', () => {
    expect([...violations].sort()).toEqual([...EXPECTED].sort())
  })
})
