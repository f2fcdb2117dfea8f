/**
 * The layers of bottle, enforced by `npm run lint:layers` (part of `npm test`).
 *
 * controller, lowest first:
 *   controller/*.ts     leaf helpers (package root, atomic writes)
 *   spec                load, validate, extends, sources
 *   plan                pure: desired state from specs; owns the runtime-neutral model
 *   runtime             the driver contract and one folder per driver
 *   status, proposals   status files; the proposal files and their intake
 *   reconcile           queue, reconciler, controller
 *   cli                 the commands
 * sidecars: dlp and shared below the daemons; each daemon its own folder.
 *
 * A lower layer importing a higher one is a violation, and so is any cycle.
 * Type-only imports count: a type is part of a layer's contract.
 */

/** Forbids imports from the folders in `from` to the folders in `to` (paths from the repository root). */
function forbid(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: to } }
}

const DAEMONS = ['egress', 'git-gate', 'init', 'supervise']

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules form no import cycle: move what both sides need into a lower module.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'resolvable',
      comment: 'An import the cruiser cannot resolve is one it cannot check.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    forbid('controller-leaves',
      'controller/*.ts are leaf helpers every layer may use; they import no layer.',
      '^controller/[^/]+\\.ts$', '^controller/[^/]+/'),
    forbid('spec-is-the-base',
      'spec (loading and validating) knows nothing of what is done with specs.',
      '^controller/spec/', '^controller/(plan|reconcile|runtime|status|proposals|cli)/'),
    forbid('plan-is-pure',
      'plan computes desired state from specs; it never reaches status, proposals, reconcile, the drivers or the CLI.',
      '^controller/plan/', '^controller/(proposals|status|reconcile|runtime|cli)/'),
    forbid('runtime-below-reconcile',
      'drivers make parts so; they do not know who asks (reconcile, CLI) or how it is reported (status).',
      '^controller/runtime/', '^controller/(reconcile|cli|status|proposals)/'),
    forbid('drivers-are-independent',
      'each driver stands alone on the contract in controller/runtime/*.ts.',
      '^controller/runtime/([^/]+)/', '^controller/runtime/(?!$1/)[^/]+/'),
    forbid('status-below-reconcile',
      'status is computed from plan and observations; it never calls drivers or the reconciler.',
      '^controller/status/', '^controller/(runtime|reconcile|cli|proposals)/'),
    forbid('proposals-below-reconcile',
      'proposal files and their intake are used by the reconciler and the CLI, not the other way round.',
      '^controller/proposals/', '^controller/(reconcile|cli|runtime)/'),
    forbid('cli-is-the-top',
      'nothing outside the CLI imports it.',
      '^controller/(?!cli/)', '^controller/cli/'),
    forbid('sidecars-stand-alone',
      'the sidecar bundle ships without the controller.',
      '^sidecars/', '^controller/'),
    forbid('dlp-is-the-base',
      'the DLP engine is shared by every daemon and by spec validation; it imports none of them.',
      '^sidecars/dlp/', '^sidecars/(?!dlp/)'),
    forbid('shared-below-daemons',
      'sidecars/shared serves every daemon; it imports none of them.',
      '^sidecars/shared/', `^sidecars/(${DAEMONS.join('|')})/`),
  ],
  options: {
    // TypeScript 7 has no JavaScript compiler API; swc parses the sources, type-only imports included.
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^dist/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'], exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
    cache: false,
  },
}
