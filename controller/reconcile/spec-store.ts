import { formatSpecError, type SpecError } from '../spec/errors.js'
import type { ResolvedAgent, SpecTree } from '../spec/load-spec-tree.js'

export type AgentSpecState =
  | { kind: 'valid'; agent: ResolvedAgent }
  /** The Agent is named in the specs but cannot be used: keep what runs, report why. */
  | { kind: 'invalid'; file: string; errors: SpecError[] }
  /** The Agent's file (or some file, when its file is unknown) cannot be read whole: it may still be there. */
  | { kind: 'unreadable'; file: string; errors: SpecError[] }
  /** No spec names the Agent and every file was read whole: it is gone. */
  | { kind: 'absent' }

/** The latest spec tree, and the one question that decides whether anything may be torn down. */
export class SpecStore {
  constructor(private current: SpecTree) {}

  get tree(): SpecTree {
    return this.current
  }

  update(tree: SpecTree): void {
    this.current = tree
  }

  /**
   * What the specs say about an Agent. `lastFile` is the file it was last
   * applied from (the controller's record), so a broken file only protects
   * the Agents that came from it; without it, any broken file protects all.
   */
  agentState(name: string, lastFile?: string): AgentSpecState {
    const tree = this.current
    const agent = tree.agents.get(name)
    if (agent) return { kind: 'valid', agent }
    const invalid = tree.invalid.get(`Agent/${name}`)
    if (invalid) return { kind: 'invalid', file: invalid.ref.file, errors: invalid.errors }
    const incomplete = tree.files.filter((f) => !f.complete)
    if (lastFile !== undefined) {
      const file = incomplete.find((f) => f.path === lastFile)
      return file ? { kind: 'unreadable', file: file.path, errors: file.errors } : { kind: 'absent' }
    }
    const first = incomplete[0]
    return first ? { kind: 'unreadable', file: first.path, errors: first.errors } : { kind: 'absent' }
  }

  /** Every Agent name the specs mention, valid or not. */
  agentNames(): Set<string> {
    const names = new Set(this.current.agents.keys())
    for (const key of this.current.invalid.keys()) if (key.startsWith('Agent/')) names.add(key.slice('Agent/'.length))
    return names
  }
}

export function formatErrors(errors: readonly SpecError[]): string[] {
  return errors.map(formatSpecError)
}
