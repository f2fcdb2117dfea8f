import { readFile } from 'node:fs/promises'
import { parseAllDocuments } from 'yaml'
import { statusFilePath } from './status-file-path.js'
import type { StatusDocument } from './status-types.js'

/**
 * Reads the status documents beside a spec file, keyed `Kind/name`. A missing
 * or unreadable status file reads as empty: status is advisory, never a
 * reason for a command to fail.
 */
export async function readStatusFile(specAbsPath: string): Promise<Map<string, StatusDocument>> {
  const out = new Map<string, StatusDocument>()
  let text: string
  try {
    text = await readFile(statusFilePath(specAbsPath), 'utf8')
  } catch {
    return out
  }
  const docs = parseAllDocuments(text)
  for (const doc of Array.isArray(docs) ? docs : []) {
    if (doc.errors.length > 0) continue
    let value: Partial<StatusDocument> | null
    try {
      value = doc.toJS({ maxAliasCount: 0 }) as Partial<StatusDocument> | null
    } catch {
      continue
    }
    if (value?.kind && value.metadata?.name && value.status) out.set(`${value.kind}/${value.metadata.name}`, value as StatusDocument)
  }
  return out
}
