/**
 * DockerImageStore: turns an ImageRequest into an image on the engine.
 *
 * Built images are tagged `<repository>:<12 hex of the build inputs>`
 * (bottle-sidecars, bottle-agent-claude, bottle-agent-codex,
 * bottle-agent-custom), so resolve() names the image from files alone (and,
 * once per store, the engine's architecture) and ensure() builds only what is
 * missing. Every build sits on one
 * base: $BOTTLE_BASE_IMAGE (or the `baseImage` option) when set, e.g.
 * node:22-slim for machines that can pull; otherwise the offline base built
 * with debootstrap (see offline-base-image.ts).
 *
 * A provider image (bottle-agent-claude, bottle-agent-codex) is built from
 * images/agent-<provider>, the files of images/agent under agent-box/ (the
 * shared setup) and cli.tgz, the CLI package pinned in
 * images/provider-clis.json for the engine's architecture. Its inputs digest
 * stands in the pin (package, version, sha512) for the tarball, so resolve()
 * hashes no 175 MB file and needs no download; ensure() fetches and checks
 * the tarball only when the image is missing (provider-cli-packages.ts).
 */
import { existsSync, readdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import Dockerode from 'dockerode'
import type { Logger } from 'pino'
import { DriverError } from '../driver.js'
import type { ImageRequest, ImageStore, ProgressListener } from '../images.js'
import { contextDigest, folderContext, listContextFiles, packableContext, shortDigest, type BuildContext, type ContextFile } from './build-context.js'
import { withBuildLock } from '../build-lock.js'
import { EngineStreamError, followBuildStream, imageExists } from './engine-stream.js'
import { ensureOfflineBase, offlineBaseRef } from './offline-base-image.js'
import {
  cliArch,
  ensurePinnedTarball,
  packageSpec,
  pinDigest,
  readProviderCliPin,
  tarballPath,
  type CliArch,
  type CliProvider,
  type PackageFetcher,
  type PackagePin,
} from './provider-cli-packages.js'
import { findPackageRoot } from '../../package-root.js'
import type { LogFields } from '../../log-events.js'

export interface DockerImageStoreOptions {
  docker?: Dockerode
  logger: Logger
  /** Base of every built image. Default: $BOTTLE_BASE_IMAGE, else the offline base. */
  baseImage?: string
  /** The bottle package folder (images/ lives there). Default: found from this file. */
  packageRoot?: string
  /** Folder of the daemons' esbuild bundles (`<daemon>.mjs`). Default: <packageRoot>/dist/sidecars-bundle. */
  bundleDir?: string
  /** Scratch space for the base rootfs and staged contexts. Default: <packageRoot>/.cache. */
  cacheDir?: string
  /**
   * Reuse a resolved reference for this long (default 0: always look). The
   * controller resolves both images on every reconcile of every Agent; a
   * second of memory turns a resync of many Agents into one walk of each
   * build context, at the price of noticing a rebuilt bundle a second later.
   */
  resolveMemoMs?: number
  /** How a missing CLI tarball is downloaded. Default: `npm pack`. */
  fetchPackage?: PackageFetcher
}

/** The classic builder's bookkeeping lines say nothing a user needs. */
function isBuildNoise(line: string): boolean {
  return line.startsWith(' ---> ') || line.startsWith('---> ') || line.startsWith('Removing intermediate container ')
}

interface BuildPlan {
  ref: string
  context: BuildContext
  labels: Record<string, string>
  /** The CLI package whose tarball the context holds as cli.tgz; fetched before the build. */
  cli?: PackagePin
}

/** Where a provider image's context holds the shared files of images/agent, and its CLI tarball. */
const AGENT_BOX_DIR = 'agent-box'
const CLI_TARBALL = 'cli.tgz'

export class DockerImageStore implements ImageStore {
  readonly #docker: Dockerode
  readonly #log: Logger
  readonly #packageRoot: string
  readonly #bundleDir: string
  readonly #cacheDir: string
  readonly #baseImage: string | undefined
  readonly #resolved = new Map<string, { at: number; ref: string }>()
  readonly #resolveMemoMs: number
  /** One build per reference at a time, however many reconciles ask for it. */
  readonly #inFlight = new Map<string, Promise<string>>()
  readonly #fetchPackage: PackageFetcher | undefined
  /** The engine's architecture, asked once: it picks the CLI package. */
  #arch: Promise<CliArch> | undefined

  constructor(options: DockerImageStoreOptions) {
    this.#docker = options.docker ?? new Dockerode()
    this.#log = options.logger.child({ component: 'image-store' })
    this.#packageRoot = options.packageRoot ?? findPackageRoot()
    this.#bundleDir = options.bundleDir ?? join(this.#packageRoot, 'dist/sidecars-bundle')
    this.#cacheDir = options.cacheDir ?? join(this.#packageRoot, '.cache')
    this.#resolveMemoMs = options.resolveMemoMs ?? 0
    this.#fetchPackage = options.fetchPackage
    const fromEnv = process.env.BOTTLE_BASE_IMAGE
    this.#baseImage = options.baseImage ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined)
  }

  async resolve(request: ImageRequest): Promise<string> {
    if (request.kind === 'agent-ref') return request.ref
    if (this.#resolveMemoMs <= 0) return (await this.#plan(request)).ref
    const key = JSON.stringify(request)
    const memo = this.#resolved.get(key)
    if (memo && Date.now() - memo.at < this.#resolveMemoMs) return memo.ref
    const ref = (await this.#plan(request)).ref
    this.#resolved.set(key, { at: Date.now(), ref })
    return ref
  }

  async ensure(request: ImageRequest, onProgress: ProgressListener = () => {}): Promise<string> {
    if (request.kind === 'agent-ref') {
      if (await this.#exists(request.ref, 'ensure-image')) return request.ref
      throw new DriverError(
        'docker',
        'ensure-image',
        request.ref,
        `image not present on the engine; bottle never pulls or builds named images: run "docker pull ${request.ref}" or build it, or use image: {dockerfile: ...}`,
      )
    }
    const plan = await this.#plan(request)
    if (await this.#exists(plan.ref, 'ensure-image')) return plan.ref
    let pending = this.#inFlight.get(plan.ref)
    if (pending === undefined) {
      pending = this.#locked(plan.ref, () => this.#build(plan, onProgress)).finally(() => this.#inFlight.delete(plan.ref))
      this.#inFlight.set(plan.ref, pending)
    }
    return pending
  }

  /** The base reference, building the offline base when it is the one in use and missing. */
  async ensureBase(onProgress: ProgressListener = () => {}): Promise<string> {
    if (this.#baseImage !== undefined) return this.#baseImage
    const ref = await this.#baseRef()
    let pending = this.#inFlight.get(ref)
    if (pending === undefined) {
      pending = this.#locked(ref, () => ensureOfflineBase(this.#offlineOptions(), onProgress)).finally(() => this.#inFlight.delete(ref))
      this.#inFlight.set(ref, pending)
    }
    return pending
  }

  /** Builds `ref` unless another process on this machine is already doing it, in which case waits for theirs. */
  #locked(ref: string, build: () => Promise<string>): Promise<string> {
    return withBuildLock(
      join(this.#cacheDir, 'locks'),
      ref,
      async () => ((await this.#exists(ref, 'ensure-image')) ? ref : undefined),
      build,
    )
  }

  #offlineOptions(): Parameters<typeof offlineBaseRef>[0] {
    return { docker: this.#docker, packageRoot: this.#packageRoot, cacheDir: this.#cacheDir }
  }

  async #baseRef(): Promise<string> {
    return this.#baseImage ?? offlineBaseRef(this.#offlineOptions())
  }

  async #exists(ref: string, operation: string): Promise<boolean> {
    try {
      return await imageExists(this.#docker, ref)
    } catch (error) {
      throw new DriverError('docker', operation, ref, `cannot ask the engine about the image: ${(error as Error).message}`, { cause: error })
    }
  }

  async #plan(request: Exclude<ImageRequest, { kind: 'agent-ref' }>): Promise<BuildPlan> {
    const base = await this.#baseRef()
    let repository: string
    let context: BuildContext
    let cli: PackagePin | undefined
    switch (request.kind) {
      case 'sidecars': {
        repository = 'bottle-sidecars'
        context = this.#sidecarsContext(base)
        break
      }
      case 'agent': {
        repository = `bottle-agent-${request.provider}`
        const provider = await this.#providerContext(request.provider, repository, base)
        context = provider.context
        cli = provider.cli
        break
      }
      case 'agent-dockerfile': {
        repository = 'bottle-agent-custom'
        if (!existsSync(request.dockerfile)) {
          throw new DriverError('docker', 'resolve-image', request.dockerfile, 'Dockerfile not found')
        }
        // The folder holding the Dockerfile is its build context, as with `docker build -f X dir-of-X`.
        context = await folderContext(dirname(request.dockerfile), basename(request.dockerfile), { BASE_IMAGE: base })
        break
      }
    }
    const digest = await contextDigest(context)
    return {
      ref: `${repository}:${shortDigest(digest)}`,
      context,
      labels: {
        'bottle.dev/image': repository,
        'bottle.dev/inputs': digest,
        ...(cli === undefined ? {} : { 'bottle.dev/cli-package': packageSpec(cli) }),
      },
      ...(cli === undefined ? {} : { cli }),
    }
  }

  /**
   * images/agent-<provider> at the root, images/agent (all but its
   * Dockerfile) under agent-box/, and the pinned CLI tarball as cli.tgz with
   * the pin as its digest: the file may not be downloaded yet.
   */
  async #providerContext(provider: CliProvider, repository: string, base: string): Promise<{ context: BuildContext; cli: PackagePin }> {
    let version: string
    let cli: PackagePin
    try {
      const pin = await readProviderCliPin(this.#packageRoot, provider)
      version = pin.version
      cli = pin.packages[await this.#engineArch()]
    } catch (error) {
      throw new DriverError('docker', 'resolve-image', repository, (error as Error).message, { cause: error })
    }
    const ownDir = join(this.#packageRoot, `images/agent-${provider}`)
    const boxDir = join(this.#packageRoot, 'images/agent')
    const own = await listContextFiles(ownDir)
    const clash = own.find((path) => path === CLI_TARBALL || path.startsWith(`${AGENT_BOX_DIR}/`))
    if (clash !== undefined) {
      throw new DriverError('docker', 'resolve-image', repository, `${join(ownDir, clash)}: the image store puts its own file there`)
    }
    const box = (await listContextFiles(boxDir)).filter((path) => path !== 'Dockerfile')
    const files: ContextFile[] = [
      ...own.map((path) => ({ path, source: join(ownDir, path) })),
      ...box.map((path) => ({ path: `${AGENT_BOX_DIR}/${path}`, source: join(boxDir, path) })),
      { path: CLI_TARBALL, source: tarballPath(this.#cacheDir, cli), digest: pinDigest(cli) },
    ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    return { context: { files, dockerfile: 'Dockerfile', buildArgs: { BASE_IMAGE: base, CLI_VERSION: version } }, cli }
  }

  #engineArch(): Promise<CliArch> {
    this.#arch ??= this.#docker.version().then(
      (version) => cliArch(version.Arch),
      (error: unknown) => {
        throw new Error(`cannot ask the engine its architecture: ${(error as Error).message}`)
      },
    )
    // A failure is not remembered: the engine may answer next time.
    this.#arch.catch(() => {
      this.#arch = undefined
    })
    return this.#arch
  }

  #sidecarsContext(base: string): BuildContext {
    const imageDir = join(this.#packageRoot, 'images/sidecars')
    const bundles = existsSync(this.#bundleDir)
      ? readdirSync(this.#bundleDir).filter((name) => name.endsWith('.mjs'))
      : []
    if (!bundles.includes('init.mjs')) {
      throw new DriverError(
        'docker',
        'resolve-image',
        'bottle-sidecars',
        `no sidecar bundles in ${this.#bundleDir} (init.mjs missing): run "npm run build" first`,
      )
    }
    const files = [
      { path: 'Dockerfile', source: join(imageDir, 'Dockerfile') },
      ...bundles.map((name) => ({ path: `bundle/${name}`, source: join(this.#bundleDir, name) })),
    ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    return { files, dockerfile: 'Dockerfile', buildArgs: { BASE_IMAGE: base } }
  }

  /** Puts the pinned, verified CLI tarball where the plan's context expects it. */
  async #fetchCli(ref: string, cli: PackagePin, onProgress: ProgressListener): Promise<void> {
    try {
      await ensurePinnedTarball(cli, {
        cacheDir: this.#cacheDir,
        onProgress: (line) => onProgress(`${ref}: ${line}`),
        ...(this.#fetchPackage === undefined ? {} : { fetch: this.#fetchPackage }),
      })
    } catch (error) {
      const reason = (error as Error).message
      this.#log.error({ event: 'cli-fetch-failed', image: ref, package: packageSpec(cli), reason } satisfies LogFields, 'agent CLI fetch failed')
      throw new DriverError('docker', 'fetch-cli', ref, reason.split('\n')[0] ?? reason, { cause: error })
    }
  }

  async #build(plan: BuildPlan, onProgress: ProgressListener): Promise<string> {
    const started = Date.now()
    if (plan.cli !== undefined) await this.#fetchCli(plan.ref, plan.cli, onProgress)
    const base = await this.ensureBase(onProgress)
    this.#log.info({ event: 'image-build-started', image: plan.ref, base } satisfies LogFields, 'image build started')
    onProgress(`${plan.ref}: building on ${base}`)
    const packable = await packableContext(plan.context, this.#cacheDir)
    try {
      const stream = await this.#docker.buildImage(
        { context: packable.dir, src: packable.src },
        {
          t: plan.ref,
          dockerfile: plan.context.dockerfile,
          buildargs: plan.context.buildArgs,
          labels: plan.labels,
          rm: true,
          forcerm: true,
        },
      )
      await followBuildStream(stream, (line) => {
        if (!isBuildNoise(line)) onProgress(`${plan.ref}: ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`)
      })
    } catch (error) {
      const reason = error instanceof EngineStreamError && error.step !== undefined ? `${error.step}: ${error.message}` : (error as Error).message
      this.#log.error({ event: 'image-build-failed', image: plan.ref, reason } satisfies LogFields, 'image build failed')
      throw new DriverError('docker', 'build-image', plan.ref, reason.split('\n')[0] ?? reason, { cause: error })
    } finally {
      await packable.cleanup()
    }
    if (!(await this.#exists(plan.ref, 'build-image'))) {
      throw new DriverError('docker', 'build-image', plan.ref, 'the build finished but the engine has no image by that name')
    }
    const seconds = Math.round((Date.now() - started) / 1000)
    this.#log.info({ event: 'image-built', image: plan.ref, seconds } satisfies LogFields, 'image built')
    onProgress(`${plan.ref}: built in ${seconds}s`)
    return plan.ref
  }
}
