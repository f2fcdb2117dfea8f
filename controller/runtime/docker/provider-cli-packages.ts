/**
 * The agent CLIs baked into the provider images (bottle-agent-claude,
 * bottle-agent-codex) and the tarballs they come from.
 *
 * images/provider-clis.json pins, per provider and engine architecture, one
 * npm package: its name, version and the registry's `dist.integrity`
 * (sha512). The boxes have neither npm nor a way to the registry, so the
 * host fetches the tarball (`npm pack`, which honours the user's .npmrc and
 * mirror) into <cacheDir>/provider-clis/ and checks it against the pin before
 * every use; the image build then unpacks it. A tarball that does not match
 * its pin is deleted and never reaches a build.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { z } from 'zod'
import type { ImageRequest, ProgressListener } from '../images.js'

/** The providers with a bundled image (the plan's provider table names which image each one runs). */
export type CliProvider = Extract<ImageRequest, { kind: 'agent' }>['provider']
export type CliArch = 'x64' | 'arm64'

const packagePin = z.strictObject({
  name: z.string().regex(/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/, 'an npm package name'),
  version: z.string().regex(/^\d+\.\d+\.\d+[\w.+-]*$/, 'an exact version'),
  integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]{86}==$/, 'a sha512 integrity as `npm view <spec> dist.integrity` prints it'),
})

const providerPin = z.strictObject({
  /** What `<cli> --version` reports; the image is labelled with it. */
  version: z.string().min(1),
  packages: z.strictObject({ x64: packagePin, arm64: packagePin }),
})

const pinsFile = z.strictObject({
  $comment: z.string().optional(),
  claude: providerPin,
  codex: providerPin,
})

export type PackagePin = z.infer<typeof packagePin>
export type ProviderCliPin = z.infer<typeof providerPin>

/** Where the pins live, relative to the package root. */
export const PINS_PATH = 'images/provider-clis.json'

/** The pins for one provider, read from `<packageRoot>/images/provider-clis.json`. */
export async function readProviderCliPin(packageRoot: string, provider: CliProvider): Promise<ProviderCliPin> {
  const path = join(packageRoot, PINS_PATH)
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    throw new Error(`cannot read the CLI pins in ${path}: ${(error as Error).message}`)
  }
  const result = pinsFile.safeParse(parsed)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new Error(`invalid CLI pins in ${path}: ${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  return result.data[provider]
}

/** The engine's architecture as Docker reports it (GOARCH or uname -m), in npm's words. */
export function cliArch(engineArch: string): CliArch {
  switch (engineArch) {
    case 'amd64':
    case 'x86_64':
      return 'x64'
    case 'arm64':
    case 'aarch64':
      return 'arm64'
    default:
      throw new Error(`no agent CLI is pinned for the engine's architecture ${engineArch} (x64 and arm64 are)`)
  }
}

export function packageSpec(pin: PackagePin): string {
  return `${pin.name}@${pin.version}`
}

/** The stand-in for the tarball's content in an image's input digest: the pin names exactly one file. */
export function pinDigest(pin: PackagePin): string {
  return `npm:${packageSpec(pin)}:${pin.integrity}`
}

/** The tarball's file name in the cache, as `npm pack` names it: `@scope/name` becomes `scope-name`. */
export function tarballName(pin: PackagePin): string {
  return `${pin.name.replace(/^@/, '').replace('/', '-')}-${pin.version}.tgz`
}

/** The cached tarball of a pin (present or not). */
export function tarballPath(cacheDir: string, pin: PackagePin): string {
  return join(cacheDir, 'provider-clis', tarballName(pin))
}

/** sha512 of a file in the `sha512-<base64>` form of npm's dist.integrity. */
export async function fileIntegrity(path: string): Promise<string> {
  const hash = createHash('sha512')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return `sha512-${hash.digest('base64')}`
}

/** Downloads `spec` into the empty folder `destination`; returns the tarball's path. */
export type PackageFetcher = (spec: string, destination: string) => Promise<string>

/** `npm pack <spec> --pack-destination <destination>`: the registry and auth the user's npm is set up with. */
export const npmPack: PackageFetcher = async (spec, destination) => {
  const result = await execa('npm', ['pack', spec, '--pack-destination', destination, '--ignore-scripts', '--loglevel=error'], {
    reject: false,
    stdin: 'ignore',
  })
  if (result.failed) {
    // npm's first lines are bookkeeping (code, syscall, path, errno); the reason comes after.
    const reason =
      (result.code === 'ENOENT' ? 'npm is not installed' : undefined) ??
      result.stderr.split('\n').find((line) => /^npm error (?!(code|syscall|path|errno) |A complete log)\S/.test(line)) ??
      `exit code ${result.exitCode ?? '?'}`
    throw new Error(`npm pack ${spec} failed: ${reason}`)
  }
  const tarballs = (await readdir(destination)).filter((name) => name.endsWith('.tgz'))
  if (tarballs.length !== 1 || tarballs[0] === undefined) {
    throw new Error(`npm pack ${spec} left ${tarballs.length} tarballs in ${destination}, expected one`)
  }
  return join(destination, tarballs[0])
}

export interface EnsureTarballOptions {
  cacheDir: string
  onProgress?: ProgressListener
  /** Default: npmPack. Tests pass a local one. */
  fetch?: PackageFetcher
}

function mismatch(pin: PackagePin, actual: string, what: string): string {
  return `${packageSpec(pin)}: the ${what} tarball's sha512 does not match the pin in ${PINS_PATH} (expected ${pin.integrity}, got ${actual}); it was deleted`
}

const megabytes = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`

/**
 * The path of the pinned tarball in the cache, checked against its pin:
 * fetched when missing, fetched again when the cached copy does not match
 * (and deleted either way). A freshly fetched tarball that does not match is
 * an error: the registry or a mirror serves other bytes than were pinned.
 */
export async function ensurePinnedTarball(pin: PackagePin, options: EnsureTarballOptions): Promise<string> {
  const say = options.onProgress ?? (() => {})
  const spec = packageSpec(pin)
  const target = tarballPath(options.cacheDir, pin)
  const cached = await stat(target).catch(() => undefined)
  if (cached !== undefined) {
    const actual = await fileIntegrity(target)
    if (actual === pin.integrity) {
      say(`${spec}: using the cached tarball (${megabytes(cached.size)}, sha512 matches the pin)`)
      return target
    }
    await rm(target, { force: true })
    say(mismatch(pin, actual, 'cached'))
  }

  const folder = join(options.cacheDir, 'provider-clis')
  await mkdir(folder, { recursive: true })
  // A folder per download: two processes fetching at once never see each other's partial files.
  const scratch = await mkdtemp(join(folder, 'download-'))
  try {
    const started = Date.now()
    say(`${spec}: downloading from the npm registry`)
    const fetched = await (options.fetch ?? npmPack)(spec, scratch)
    const actual = await fileIntegrity(fetched)
    if (actual !== pin.integrity) throw new Error(mismatch(pin, actual, 'downloaded'))
    const size = (await stat(fetched)).size
    // Only a verified tarball ever has the name a build looks for.
    await rename(fetched, target)
    say(`${spec}: downloaded ${megabytes(size)} in ${Math.round((Date.now() - started) / 1000)}s, sha512 matches the pin`)
    return target
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
