/**
 * Builds every image bottle ships (the base, the sidecar bundle and the agent
 * images, one per provider CLI) on the local engine, printing progress. Run
 * after `npm run build` (the sidecars image packs dist/sidecars-bundle):
 *
 *   node dist/scripts/build-images.js [--provider claude|codex ...] [--quiet]
 *
 * Unchanged images are not rebuilt, so running it twice is cheap. Building a
 * provider image downloads its pinned CLI package from the npm registry once
 * (images/provider-clis.json; kept in .cache/provider-clis).
 */
import { Command } from 'commander'
import pino from 'pino'
import { DockerImageStore } from '../controller/runtime/docker/image-store.js'
import type { ImageRequest } from '../controller/runtime/images.js'

const program = new Command()
  .name('build-images')
  .description('build the bottle base, sidecars and agent images on the local Docker engine')
  .option('--provider <name...>', 'agent images to build (claude, codex)', ['claude', 'codex'])
  .option('--quiet', 'print only the resulting image references')
  .parse()

const options = program.opts<{ provider: string[]; quiet?: boolean }>()
const isProvider = (name: string): name is 'claude' | 'codex' => name === 'claude' || name === 'codex'
const unknown = options.provider.filter((name) => !isProvider(name))
if (unknown.length > 0) {
  process.stderr.write(`build-images: unknown provider "${unknown.join('", "')}" (claude, codex)\n`)
  process.exit(2)
}
const providers = options.provider.filter(isProvider)

const started = Date.now()
const progress = (line: string): void => {
  if (!options.quiet) process.stderr.write(`${line}\n`)
}
const store = new DockerImageStore({ logger: pino({ level: 'warn' }, pino.destination(2)) })
const requests: ImageRequest[] = [{ kind: 'sidecars' }, ...providers.map((provider) => ({ kind: 'agent' as const, provider }))]
try {
  const base = await store.ensureBase(progress)
  process.stdout.write(`base ${base}\n`)
  for (const request of requests) {
    const ref = await store.ensure(request, progress)
    process.stdout.write(`${request.kind === 'agent' ? `agent-${request.provider}` : request.kind} ${ref}\n`)
  }
  progress(`build-images: done in ${Math.round((Date.now() - started) / 1000)}s`)
} catch (error) {
  process.stderr.write(`build-images: ${(error as Error).message}\n`)
  process.exitCode = 1
}
