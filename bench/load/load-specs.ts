/**
 * bench/load: load and validate 1,000 spec files, against the baseline of
 * only reading and parsing the same files as YAML (the work no loader can
 * skip). Target: 1,000 files in under 0.5 s. Run: npm run bench:load
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { listSpecFiles } from '../../controller/spec/list-spec-files.js'
import { loadSpecTree } from '../../controller/spec/load-spec-tree.js'
import { median, printTable, timeRuns } from '../lib/stats.js'

const BOTTLES = 100
const AGENTS = 900
const RUNS = 9

function bottle(i: number): string {
  const parent = i % 10 === 0 ? '' : `  extends: bottle-${i - (i % 10)}\n`
  return `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: bottle-${i}}
spec:
${parent}  image: {provider: claude}
  env: {TEAM: team-${i}, LANG: C.UTF-8}
  resources: {cpus: 2, memoryMiB: 4096}
  egress:
    routes:
      - host: api.github.com
        paths: ["/repos/org-${i}/"]
        auth: {scheme: Bearer, tokenRef: {env: GH_TOKEN_${i}}}
      - host: registry.npmjs.org
      - host: "*.githubusercontent.com"
        tls: passthrough
    allowPrivate: ["10.${i % 250}.0.0/16"]
  git:
    user: {name: Bot ${i}, email: bot${i}@example.com}
    remotes:
      - name: app-${i}
        upstream: ssh://git@git.example.com:22/org/app-${i}.git
        identityFile: ~/.ssh/id_ed25519
        knownHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
`
}

function agent(i: number): { path: string; text: string } {
  const b = i % BOTTLES
  if (i % 2 === 0) {
    return { path: `agents/agent-${i}.md`, text: `---\nbottle: bottle-${b}\nprovider: claude\ngit: {user: {name: agent-${i}}}\nworkspace: {remote: app-${b - (b % 10)}, ref: main}\n---\nYou are agent ${i}. Implement the PRD you are given, test it, and push a branch.\n` }
  }
  return {
    path: `agents/agent-${i}.yaml`,
    text: `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: agent-${i}}\nspec:\n  bottle: bottle-${b}\n  env: {ROLE: reviewer}\n  task: {prompt: "Review PR ${i}", timeout: 30m, retries: 1}\n`,
  }
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'bottle-bench-load-'))
  try {
    await mkdir(join(root, 'bottles'))
    await mkdir(join(root, 'agents'))
    for (let i = 0; i < BOTTLES; i++) await writeFile(join(root, 'bottles', `bottle-${i}.yaml`), bottle(i))
    for (let i = 0; i < AGENTS; i++) {
      const a = agent(i)
      await writeFile(join(root, a.path), a.text)
    }

    const check = await loadSpecTree(root)
    if (check.errors.length > 0 || check.agents.size !== AGENTS || check.bottles.size !== BOTTLES) {
      throw new Error(`the generated tree should be valid: ${check.errors.length} errors, ${check.bottles.size} bottles, ${check.agents.size} agents`)
    }

    // Baseline: list, read and YAML-parse the same files, nothing else.
    const baseline = await timeRuns(RUNS, async () => {
      const entries = await listSpecFiles(root)
      await Promise.all(entries.map(async (e) => parseAllDocuments(await readFile(join(root, e.path), 'utf8'))))
    })
    const loader = await timeRuns(RUNS, () => loadSpecTree(root))

    const files = BOTTLES + AGENTS
    const b = median(baseline)
    const l = median(loader)
    console.log(`bench/load: ${files} spec files (${BOTTLES} Bottles with extends chains, ${AGENTS} Agents, .yaml and .md), median of ${RUNS} runs`)
    printTable(
      ['path', 'median ms', 'files/s'],
      [
        ['read + YAML parse (baseline)', b.toFixed(1), Math.round((files / b) * 1000)],
        ['bottle loader (parse, schema, rules, DLP, extends)', l.toFixed(1), Math.round((files / l) * 1000)],
      ],
    )
    console.log(`ratio loader/baseline: ${(l / b).toFixed(2)}x; target 1,000 files < 500 ms: ${l < 500 ? 'met' : 'NOT met'} (${l.toFixed(0)} ms)`)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

await main()
