import { stat } from 'node:fs/promises'
import { basename, dirname, relative, resolve, sep } from 'node:path'
import { formatSpecError, type SpecError } from '../../spec/errors.js'
import { specFileEntry } from '../../spec/list-spec-files.js'
import { loadSpecTree, type SpecTree } from '../../spec/load-spec-tree.js'
import { CliError, EXIT_FAILED, EXIT_OK, UsageError } from '../cli-error.js'

export interface ValidateTarget {
  /** The folder paths in errors are relative to. */
  root: string
  tree: SpecTree
}

/**
 * Loads what `-f PATH` names: a folder as a whole, or one file. A file is
 * checked against the specs of `--dir` when given (its Agents may name
 * Bottles defined there), else on its own.
 */
export async function loadTarget(path: string, dir?: string): Promise<ValidateTarget> {
  const abs = resolve(path)
  let info
  try {
    info = await stat(abs)
  } catch {
    throw new UsageError(`${path}: no such file or directory`)
  }
  if (info.isDirectory()) return { root: abs, tree: await loadSpecTree(abs) }
  if (dir !== undefined) {
    const root = resolve(dir)
    const rel = relative(root, abs)
    const inside = rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..'
    const relPath = (inside ? rel : basename(abs)).split(sep).join('/')
    const entry = specFileEntry(relPath, abs)
    if (!entry) throw new UsageError(`${path}: not a spec file (expected .yaml, .yml or .md)`)
    return { root, tree: await loadSpecTree(root, { overlay: [entry] }) }
  }
  const entry = specFileEntry(basename(abs), abs)
  if (!entry) throw new UsageError(`${path}: not a spec file (expected .yaml, .yml or .md)`)
  return { root: dirname(abs), tree: await loadSpecTree(dirname(abs), { overlay: [entry], overlayOnly: true }) }
}

/** Errors with paths as the user can open them from the current folder. */
export function formatErrorsFromCwd(root: string, errors: readonly SpecError[]): string[] {
  return errors.map((e) => formatSpecError({ ...e, file: relative(process.cwd(), resolve(root, e.file)) || e.file }))
}

export async function runValidate(options: { file: string; dir?: string }, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (!options.file) throw new UsageError('validate needs -f PATH')
  const { root, tree } = await loadTarget(options.file, options.dir)
  if (tree.errors.length > 0) {
    for (const line of formatErrorsFromCwd(root, tree.errors)) err.write(`${line}\n`)
    const files = new Set(tree.errors.map((e) => e.file)).size
    err.write(`${tree.errors.length} error${tree.errors.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}\n`)
    return EXIT_FAILED
  }
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  const specFiles = tree.files.length
  if (specFiles === 0) throw new CliError(`${options.file}: no spec files found (*.yaml, *.yml, or .md with frontmatter)`)
  out.write(`valid: ${count(tree.bottles.size, 'Bottle')}, ${count(tree.agents.size, 'Agent')} in ${count(specFiles, 'file')}\n`)
  return EXIT_OK
}
