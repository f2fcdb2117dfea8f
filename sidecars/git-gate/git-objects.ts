/**
 * Reading objects of the repository the hook runs in (pushed objects are in
 * quarantine, and git finds them through the environment receive-pack set)
 * with one `git cat-file --batch` per batch of ids, never one process per
 * object. Object ids come from git itself and are checked before use.
 */
import { runGitOk, type GitRunner } from './run-git.js'

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag'

export interface ObjectInfo {
  id: string
  type: ObjectType | 'missing'
  size: number
}

export const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

function checkIds(ids: readonly string[]): void {
  for (const id of ids) if (!OBJECT_ID.test(id)) throw new Error(`not an object id: ${JSON.stringify(id.slice(0, 80))}`)
}

/** Type and size of each object, by `cat-file --batch-check`. */
export async function objectInfo(git: GitRunner, ids: readonly string[]): Promise<Map<string, ObjectInfo>> {
  const unique = [...new Set(ids)]
  checkIds(unique)
  const out = new Map<string, ObjectInfo>()
  if (unique.length === 0) return out
  const stdout = await runGitOk(git, ['cat-file', '--batch-check'], { input: unique.join('\n') + '\n' })
  for (const line of stdout.toString('utf8').split('\n')) {
    const [id, type, size] = line.split(' ')
    if (id === undefined || id === '') continue
    if (type === 'missing') out.set(id, { id, type: 'missing', size: 0 })
    else out.set(id, { id, type: type as ObjectType, size: Number(size) })
  }
  return out
}

/**
 * Contents of objects, by `cat-file --batch`. The caller bounds the total
 * size (it knows the sizes from objectInfo).
 */
export async function readObjects(git: GitRunner, ids: readonly string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(ids)]
  checkIds(unique)
  const out = new Map<string, Buffer>()
  if (unique.length === 0) return out
  const stdout = await runGitOk(git, ['cat-file', '--batch'], { input: unique.join('\n') + '\n', maxStdoutBytes: Number.MAX_SAFE_INTEGER })
  let offset = 0
  while (offset < stdout.length) {
    const newline = stdout.indexOf(0x0a, offset)
    if (newline === -1) break
    const [id, type, sizeText] = stdout.subarray(offset, newline).toString('utf8').split(' ')
    offset = newline + 1
    if (id === undefined || type === 'missing' || sizeText === undefined) continue
    const size = Number(sizeText)
    out.set(id, stdout.subarray(offset, offset + size))
    offset += size + 1
  }
  return out
}

/** The header fields and the message of a commit or tag object. */
export function splitObject(raw: Buffer): { headers: Array<[string, string]>; message: string } {
  const text = raw.toString('utf8')
  const end = text.indexOf('\n\n')
  const headerText = end === -1 ? text : text.slice(0, end)
  const message = end === -1 ? '' : text.slice(end + 2)
  const headers: Array<[string, string]> = []
  for (const line of headerText.split('\n')) {
    if (line.startsWith(' ') && headers.length > 0) {
      // Continuation of a multi-line header (gpgsig, mergetag).
      const last = headers[headers.length - 1] as [string, string]
      last[1] += `\n${line.slice(1)}`
      continue
    }
    const space = line.indexOf(' ')
    if (space > 0) headers.push([line.slice(0, space), line.slice(space + 1)])
  }
  return { headers, message }
}
