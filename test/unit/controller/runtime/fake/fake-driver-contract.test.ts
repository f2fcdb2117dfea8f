import { spawnSync } from 'node:child_process'
import type { ExecOptions, ExecResult, PartName } from '../../../../../controller/runtime/driver.js'
import { FakeDriver } from '../../../../../controller/runtime/fake/fake-driver.js'
import { driverContract, GREETING, RELOADED } from '../../../../contract/driver-contract.js'

/** The fake keeps no processes: its exec runs the command on the host, standing in for the box's. */
function hostExec(_agent: string, _part: PartName, argv: string[], options: ExecOptions): ExecResult {
  const run = spawnSync(argv[0]!, argv.slice(1), {
    input: options.stdin ?? '',
    env: { PATH: process.env.PATH, ...options.env },
    ...(options.workdir ? { cwd: options.workdir } : {}),
    encoding: 'utf8',
  })
  return { exitCode: run.status ?? 128, stdout: run.stdout, stderr: run.stderr }
}

driverContract('fake', async () => {
  const driver = new FakeDriver()
  driver.execHandler = hostExec
  // The contract box's behaviour, played by the test: it greets on every start and answers SIGHUP.
  driver.afterMutation = (op, agent, part) => {
    if (!part) return
    if (op === 'createPart' || op === 'startPart') driver.print(agent, part, GREETING)
    if (op === 'signalPart') driver.print(agent, part, RELOADED)
  }
  return {
    driver,
    partSpec: (hash) => ({ image: 'contract-box', env: {}, mounts: [], init: true, hash }),
    cleanup: async () => undefined,
  }
})
