/**
 * The two programs git runs on the gate's behalf: the pre-receive hook
 * (receive-pack runs it with the pushed objects still in quarantine) and the
 * credential helper (git runs it when an https upstream asks for a login).
 * Both are tiny node scripts, started by the kernel through their `#!` line
 * (no shell), that load the gate's own module in a role: the code that runs
 * is the code the daemon runs. Written at every start, so a new bundle
 * image's paths take effect.
 */
import { mkdir } from 'node:fs/promises'
import { writeFileAtomic } from '../shared/atomic-write.js'
import { ENV, globalGitConfig, type GatePaths } from './git-environment.js'

export type GateRole = 'pre-receive' | 'credential'

/** The script text: `#!<node>`, set the role, import the gate's entry module. */
export function roleScript(nodePath: string, entryUrl: string, role: GateRole): string {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(nodePath)) throw new Error(`node path ${JSON.stringify(nodePath)} cannot be used in a #! line`)
  // Valid as CommonJS and as an ES module: node may read an extensionless file as either.
  return [
    `#!${nodePath}`,
    `// written by bottle-git-gate at start: runs the gate's ${role} role`,
    `process.env[${JSON.stringify(ENV.role)}] = ${JSON.stringify(role)}`,
    `import(${JSON.stringify(entryUrl)}).catch(() => {`,
    `  process.stderr.write('bottle-git-gate: the ${role} program failed to start\\n')`,
    '  process.exit(1)',
    '})',
    '',
  ].join('\n')
}

/** Create the state folder's private parts: git's home and config, the hook and the helper. */
export async function installGateHome(paths: GatePaths, nodePath: string, entryUrl: string): Promise<void> {
  for (const dir of [paths.stateDir, paths.home, paths.hooksDir, paths.binDir, paths.pushReports]) {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  }
  await writeFileAtomic(paths.globalConfig, globalGitConfig(paths), 0o600)
  await writeFileAtomic(paths.preReceiveHook, roleScript(nodePath, entryUrl, 'pre-receive'), 0o700)
  await writeFileAtomic(paths.credentialHelper, roleScript(nodePath, entryUrl, 'credential'), 0o700)
}

