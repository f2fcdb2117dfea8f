/**
 * What the spec-to-Ready benchmarks wait for and clean up: an Agent's status
 * file saying Ready, and every Docker object of one owner.
 */
import { readFile } from 'node:fs/promises'
import type Dockerode from 'dockerode'
import { parseAllDocuments } from 'yaml'
import { sleep } from './temp-dir.js'

/** Resolves once the status file `file` says Agent `name` is Ready (polled every 10 ms). */
export async function readyAt(file: string, name: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '')
    for (const doc of parseAllDocuments(text) as unknown as { toJS(): { metadata?: { name: string }; status?: { conditions?: { type: string; status: string }[] } } }[]) {
      const v = doc.toJS()
      if (v?.metadata?.name === name && v.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return
    }
    if (Date.now() > deadline) throw new Error(`${name} never became Ready`)
    await sleep(10)
  }
}

/** Removes the containers, networks and volumes labelled with instance (owner) `owner`. */
export async function removeOwnedObjects(docker: Dockerode, owner: string): Promise<void> {
  const filters = { label: [`bottle.dev/instance=${owner}`] }
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true })
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove()
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove()
}
