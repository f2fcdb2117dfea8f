import type { Agent, Bottle, Proposal } from './generated/spec-types.js'
import type { FieldPath, Position } from './parse-documents.js'

export type { Agent, Bottle, Proposal } from './generated/spec-types.js'
export type SpecObject = Bottle | Agent | Proposal

/** One object as read from a file, with what is needed to point at any of its fields. */
export interface LoadedObject<T extends SpecObject = SpecObject> {
  kind: T['kind']
  name: string
  /** Spec file, relative to the root. */
  file: string
  documentIndex: number
  value: T
  /** Position of a field of the object (paths as in `value`). */
  locate(path: FieldPath, options?: { key?: boolean }): Position
}
