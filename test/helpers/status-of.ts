import { parseAllDocuments } from 'yaml'
import type { StatusDocument } from '../../controller/status/status-types.js'
import type { TempFolder } from './temp-folder.js'

/** The status the controller wrote beside `file` for the object `name`; undefined before the first write. */
export async function statusOf(specs: TempFolder, file: string, name: string): Promise<StatusDocument['status'] | undefined> {
  const text = await specs.readOptional(file.replace(/\.(ya?ml|md)$/, '.status.yaml'))
  if (!text) return undefined
  const docs = parseAllDocuments(text) as unknown as { toJS(): StatusDocument }[]
  return docs.map((d) => d.toJS()).find((d) => d.metadata.name === name)?.status
}

export const condition = (s: StatusDocument['status'] | undefined, type: string) => s?.conditions.find((c) => c.type === type)
