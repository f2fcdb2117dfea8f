import { readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '../../atomic-write.js'
import { statusFilePath } from '../../status/status-file-path.js'
import { loadSpecTree } from '../../spec/load-spec-tree.js'
import { didYouMean } from '../../spec/did-you-mean.js'
import { CliError, EXIT_FAILED, EXIT_OK } from '../cli-error.js'
import { parseDuration } from '../../spec/duration.js'
import { createLogger, instanceDrivers, type InstanceOptions } from '../instance-context.js'
import { parseKind, type ListedKind } from './get.js'

export interface DeleteOptions extends InstanceOptions {
  dir: string
  purge?: boolean
  timeout: string
}

/**
 * `bottle delete [kind] NAME`: removes the object from the spec folder (the
 * whole file when it is the file's only object); the controller prunes what
 * ran. `--purge` also deletes the Agent's workspace volume, once the
 * controller has pruned (or at the timeout, whatever is left).
 */
export async function runDelete(kindWord: string | undefined, name: string, options: DeleteOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const kind: ListedKind = kindWord ? parseKind(kindWord) : 'Agent'
  const dir = resolve(options.dir)
  const tree = await loadSpecTree(dir)
  const file = tree.files.find((f) => f.objects.some((o) => o.kind === kind && o.name === name))
  if (!file && !(options.purge && kind === 'Agent')) {
    const names = tree.files.flatMap((f) => f.objects.filter((o) => o.kind === kind).map((o) => o.name))
    const guess = didYouMean(name, names)
    throw new CliError(`${kind.toLowerCase()} "${name}" not found in ${options.dir}${guess ? ` (did you mean "${guess}"?)` : ''}`)
  }
  if (file) {
    const ref = file.objects.find((o) => o.kind === kind && o.name === name)!
    // The status file goes with its spec file; a running controller would remove it too.
    if (file.objects.length === 1) await Promise.all([rm(join(dir, file.path)), rm(statusFilePath(join(dir, file.path)), { force: true })])
    else await writeFileAtomic(join(dir, file.path), removeDocument(await readFile(join(dir, file.path), 'utf8'), ref.documentIndex), 0o644)
    out.write(`${kind.toLowerCase()}/${name} deleted (${file.path})\n`)
  }
  if (!options.purge || kind !== 'Agent') return EXIT_OK

  const log = createLogger(options.logLevel ?? 'warn')
  const drivers = instanceDrivers(options, log)
  const deadline = Date.now() + parseDuration(options.timeout)
  while (Date.now() < deadline) {
    const placed = (await drivers.observe()).filter((p) => p.observed.agent === name)
    if (placed.every((p) => Object.keys(p.observed.parts).length === 0)) break
    await new Promise((r) => setTimeout(r, 500))
  }
  try {
    // Every runtime the Agent ever ran on may hold a workspace of it.
    for (const { driver } of await drivers.available()) await driver.removeAgent(name, { purgeWorkspace: true })
  } catch (e) {
    err.write(`error: purging the workspace of agent/${name}: ${(e as Error).message}\n`)
    return EXIT_FAILED
  }
  out.write(`agent/${name} workspace purged\n`)
  return EXIT_OK
}

/**
 * Cuts one YAML document out of a multi-document file, leaving the others
 * byte for byte. Document markers are `---` lines at column 0: inside a
 * document, block scalars are always indented, so such a line is a marker.
 */
export function removeDocument(text: string, index: number): string {
  const lines = text.split(/(?<=\n)/)
  const docs: string[][] = [[]]
  for (const line of lines) {
    if (/^---(\s|$)/.test(line) && docs[docs.length - 1]!.some((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))) docs.push([])
    docs[docs.length - 1]!.push(line)
  }
  docs.splice(index, 1)
  let out = docs.map((d) => d.join('')).join('')
  // The first remaining document may start with a marker the removed one no longer needs, which is harmless; a trailing marker is not.
  out = out.replace(/\n---\s*$/, '\n')
  return out
}
