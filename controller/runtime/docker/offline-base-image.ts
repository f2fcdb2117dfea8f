/**
 * The offline base image (bottle-base): no registry is reachable on the
 * machines bottle targets, so the base is a Debian root filesystem built with
 * debootstrap (images/base/build-rootfs.sh), plus the host's own node binary,
 * imported into Docker. Its tag is a digest of everything that goes into it,
 * so it is built once per machine and again only when an input changes.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type Dockerode from 'dockerode'
import { execa } from 'execa'
import { DriverError } from '../driver.js'
import type { ProgressListener } from '../images.js'
import { fileDigest, shortDigest } from './build-context.js'
import { followBuildStream, imageExists } from './engine-stream.js'

export const BASE_REPOSITORY = 'bottle-base'
export const BASE_SUITE = 'bookworm'
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian'

/** Image settings applied at import (a rootfs tar carries none). */
const IMPORT_CHANGES = [
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'ENV LANG=C.UTF-8',
  'CMD ["/bin/bash"]',
  'LABEL bottle.dev/image=base',
]

export interface OfflineBaseOptions {
  docker: Dockerode
  packageRoot: string
  /** Parent of the temporary rootfs folder; default <packageRoot>/.cache. */
  cacheDir?: string
  /** Copied into the image as /usr/local/bin/node; default: the node running this. */
  nodeBinary?: string
  /** Default: $BOTTLE_DEBIAN_MIRROR, else deb.debian.org. Not part of the digest: mirrors serve the same packages. */
  mirror?: string
}

function baseFiles(packageRoot: string): { script: string; packages: string } {
  return {
    script: join(packageRoot, 'images/base/build-rootfs.sh'),
    packages: join(packageRoot, 'images/base/packages.txt'),
  }
}

export function readPackageList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '')
    .sort()
}

/** `bottle-base:<digest of suite, packages, node binary, build script and import settings>`. */
export async function offlineBaseRef(options: OfflineBaseOptions): Promise<string> {
  const files = baseFiles(options.packageRoot)
  const inputs = {
    suite: BASE_SUITE,
    packages: readPackageList(readFileSync(files.packages, 'utf8')),
    node: await fileDigest(options.nodeBinary ?? process.execPath),
    script: await fileDigest(files.script),
    changes: IMPORT_CHANGES,
  }
  const digest = createHash('sha256').update(JSON.stringify(inputs)).digest('hex')
  return `${BASE_REPOSITORY}:${shortDigest(digest)}`
}

/** Builds and imports the base when the engine lacks its tag; returns the reference. */
export async function ensureOfflineBase(options: OfflineBaseOptions, onProgress: ProgressListener = () => {}): Promise<string> {
  const ref = await offlineBaseRef(options)
  if (await imageExists(options.docker, ref)) return ref
  const started = Date.now()
  const say = (line: string): void => onProgress(`${ref}: ${line} (${Math.round((Date.now() - started) / 1000)}s)`)
  const cacheDir = options.cacheDir ?? join(options.packageRoot, '.cache')
  mkdirSync(cacheDir, { recursive: true })
  // A folder per build: two processes building at once must not share a rootfs.
  const workDir = mkdtempSync(join(cacheDir, 'base-'))
  const rootfs = join(workDir, 'rootfs')
  const files = baseFiles(options.packageRoot)
  let succeeded = false
  try {
    say('building the offline base image')
    const build = execa(
      'bash',
      [files.script, rootfs, BASE_SUITE, options.mirror ?? process.env.BOTTLE_DEBIAN_MIRROR ?? DEFAULT_DEBIAN_MIRROR, options.nodeBinary ?? process.execPath, files.packages],
      { reject: false, stdout: ['pipe'], stderr: 'pipe' },
    )
    for await (const line of build.iterable({ from: 'stdout' })) {
      if (line.startsWith('stage: ')) say(line.slice('stage: '.length))
    }
    const result = await build
    if (result.exitCode !== 0) {
      const reason = result.stderr.split('\n').find((line) => line.startsWith('error: ')) ?? `exit code ${result.exitCode}`
      throw new DriverError('docker', 'build-base', ref, reason.replace(/^error: /, ''))
    }
    say('importing into docker')
    const tar = execa('tar', ['--numeric-owner', '-C', rootfs, '-cf', '-', '.'], { buffer: false, stderr: 'pipe' })
    try {
      const stream = await options.docker.importImage(tar.stdout, {
        repo: BASE_REPOSITORY,
        tag: ref.slice(BASE_REPOSITORY.length + 1),
        changes: IMPORT_CHANGES,
      })
      await followBuildStream(stream, () => {})
    } catch (error) {
      // tar would block forever on a pipe nobody reads any more.
      tar.kill()
      await tar.catch(() => undefined)
      throw error
    }
    await tar
    if (!(await imageExists(options.docker, ref))) {
      throw new DriverError('docker', 'build-base', ref, 'the engine accepted the import but has no image by that name')
    }
    say('ready')
    succeeded = true
    return ref
  } catch (error) {
    if (error instanceof DriverError) throw error
    throw new DriverError('docker', 'build-base', ref, (error as Error).message.split('\n')[0] ?? 'failed', { cause: error })
  } finally {
    // The rootfs is ~400 MB; keep only the small log of a failed build.
    rmSync(rootfs, { recursive: true, force: true })
    if (succeeded) rmSync(workDir, { recursive: true, force: true })
  }
}
