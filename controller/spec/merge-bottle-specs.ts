import type { BottleSpec, GitRemote } from './generated/spec-types.js'

/**
 * A Bottle spec as one layer of an `extends` chain. `clearsRemotes` keeps the
 * meaning of `remotes: []` ("drop what the parents declared") through merges,
 * which a plain list cannot: with it, merging is associative, so a chain
 * resolves the same however it is grouped.
 */
export interface BottleLayer {
  spec: Omit<BottleSpec, 'extends'>
  clearsRemotes: boolean
}

export function layerOf(spec: BottleSpec): BottleLayer {
  const { extends: _parent, ...rest } = spec
  return { spec: rest, clearsRemotes: spec.git?.remotes !== undefined && spec.git.remotes.length === 0 }
}

/** The rules of DESIGN 2.1. */
export function mergeLayers(parent: BottleLayer, child: BottleLayer): BottleLayer {
  const p = parent.spec
  const c = child.spec
  const out: Omit<BottleSpec, 'extends'> = {}

  // Scalars and whole-replace sections: the child's value when it has one.
  for (const key of ['runtime', 'image', 'resources', 'egress', 'supervise', 'notify'] as const) {
    const value = c[key] !== undefined ? c[key] : p[key]
    if (value !== undefined) (out as Record<string, unknown>)[key] = value
  }

  if (p.env !== undefined || c.env !== undefined) out.env = { ...p.env, ...c.env }

  const git = mergeGit(parent, child)
  if (git) out.git = git

  return { spec: out, clearsRemotes: child.clearsRemotes || parent.clearsRemotes }
}

function mergeGit(parent: BottleLayer, child: BottleLayer): BottleSpec['git'] {
  const p = parent.spec.git
  const c = child.spec.git
  if (p === undefined && c === undefined) return undefined
  const git: NonNullable<BottleSpec['git']> = {}
  if (p?.user !== undefined || c?.user !== undefined) git.user = { ...p?.user, ...c?.user }
  const remotes = child.clearsRemotes ? (c?.remotes ?? []) : mergeRemotes(p?.remotes, c?.remotes)
  if (remotes !== undefined) git.remotes = remotes
  return git
}

/** By name: a child entry replaces the parent's in place; new names follow in the child's order. */
function mergeRemotes(parent: GitRemote[] | undefined, child: GitRemote[] | undefined): GitRemote[] | undefined {
  if (child === undefined) return parent
  if (parent === undefined) return child
  const byName = new Map(child.map((r) => [r.name, r]))
  const merged = parent.map((r) => byName.get(r.name) ?? r)
  const seen = new Set(parent.map((r) => r.name))
  for (const r of child) if (!seen.has(r.name)) merged.push(r)
  return merged
}

/** Folds a chain, root first. The result is what agents of the last bottle run with. */
export function resolveChain(specs: readonly BottleSpec[]): Omit<BottleSpec, 'extends'> {
  let layer: BottleLayer = { spec: {}, clearsRemotes: false }
  for (const spec of specs) layer = mergeLayers(layer, layerOf(spec))
  return layer.spec
}
