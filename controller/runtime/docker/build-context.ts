/**
 * What an image build sends to the engine, and the digest that names the
 * result. Two builds with the same digest produce the same image, so the
 * image store tags images by it and never rebuilds an unchanged one.
 *
 * The digest covers each file's path, content and executable bit (COPY keeps
 * modes), the Dockerfile's path and every build argument (which include the
 * base image reference, so a new base flows through to every image above it).
 * A file may come with its digest given instead (a pinned download, checked
 * against that digest before any build): naming the image then neither reads
 * the file nor needs it to exist yet.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { copyFile, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import dockerIgnoreModule from '@balena/dockerignore'

// The package is CommonJS (module.exports = factory) while its typings
// describe an ES default export; when it runs, the default import is the factory.
const createDockerIgnore = dockerIgnoreModule as unknown as (typeof dockerIgnoreModule)['default']

export interface ContextFile {
  /** Path inside the build context, with '/' separators. */
  path: string
  /** Absolute path of the file on this machine. */
  source: string
  /**
   * What stands for the file's content in the context digest, when the
   * caller vouches for it (e.g. `npm:<name>@<version>:<integrity>` of a
   * tarball verified before the build); otherwise the file is hashed.
   */
  digest?: string
}

export interface BuildContext {
  /** Files sent to the engine, sorted by `path`. */
  files: ContextFile[]
  /** The Dockerfile's path inside the context. */
  dockerfile: string
  buildArgs: Record<string, string>
  /** Set when every file is `<root>/<path>`, so the folder can be packed as it is. */
  root?: string
}

interface FileFingerprint {
  key: string
  digest: string
}

// Hashing is the expensive part of resolve(); a file whose size, mtime and
// mode are unchanged since the last look keeps its digest.
const fingerprints = new Map<string, FileFingerprint>()

/** sha256 of a file's content and executable bit (or of a symlink's target). */
export async function fileDigest(path: string): Promise<string> {
  const info = await lstat(path)
  const key = `${info.size}:${info.mtimeMs}:${info.mode}:${info.ino}`
  const cached = fingerprints.get(path)
  if (cached?.key === key) return cached.digest
  const hash = createHash('sha256')
  if (info.isSymbolicLink()) {
    hash.update(`symlink:${await readlink(path)}`)
  } else {
    hash.update(`file:${info.mode & 0o111 ? 'x' : '-'}:`)
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  }
  const digest = hash.digest('hex')
  fingerprints.set(path, { key, digest })
  return digest
}

export async function contextDigest(context: BuildContext): Promise<string> {
  const hash = createHash('sha256')
  hash.update(`dockerfile\0${context.dockerfile}\0`)
  for (const name of Object.keys(context.buildArgs).sort()) {
    hash.update(`arg\0${name}\0${context.buildArgs[name]}\0`)
  }
  for (const file of context.files) {
    const digest = file.digest === undefined ? await fileDigest(file.source) : `given:${file.digest}`
    hash.update(`path\0${file.path}\0${digest}\0`)
  }
  return hash.digest('hex')
}

/** A short form for image tags; 48 bits is plenty for one machine's images. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 12)
}

/**
 * Every file and symlink under `root` the engine would receive: `.git` is
 * never sent, and `.dockerignore` applies with the same matcher dockerode
 * uses when it packs the context.
 */
export async function listContextFiles(root: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== '.git') await walk(path)
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        found.push(relative(root, path).split(sep).join('/'))
      }
    }
  }
  await walk(root)
  let ignoreRules: string | undefined
  try {
    ignoreRules = await readFile(join(root, '.dockerignore'), 'utf8')
  } catch {
    ignoreRules = undefined
  }
  const kept = ignoreRules === undefined ? found : found.filter(createDockerIgnore({ ignorecase: false }).add(ignoreRules).createFilter())
  return kept.sort()
}

/** A folder's build context: every file `listContextFiles` keeps. */
export async function folderContext(root: string, dockerfile: string, buildArgs: Record<string, string>): Promise<BuildContext> {
  const paths = await listContextFiles(root)
  return { root, dockerfile, buildArgs, files: paths.map((path) => ({ path, source: join(root, path) })) }
}

async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await link(source, target)
  } catch {
    // Another filesystem (EXDEV) or one without hard links.
    await copyFile(source, target)
  }
}

export interface PackableContext {
  /** Folder to pack. */
  dir: string
  /** Entries of `dir` to send. */
  src: string[]
  /** Removes any staging folder. */
  cleanup(): Promise<void>
}

/**
 * A folder dockerode can pack: the context's own root when it has one,
 * otherwise a staging copy under `stagingParent`. Files are hard-linked into
 * the staging folder when they share its filesystem: a context may hold a
 * CLI tarball of a few hundred MB.
 */
export async function packableContext(context: BuildContext, stagingParent: string): Promise<PackableContext> {
  const src = context.files.map((file) => file.path)
  if (context.root !== undefined) return { dir: context.root, src, cleanup: async () => {} }
  await mkdir(stagingParent, { recursive: true })
  const dir = await mkdtemp(join(stagingParent, 'context-'))
  try {
    for (const file of context.files) {
      const target = join(dir, file.path)
      await mkdir(dirname(target), { recursive: true })
      const info = await lstat(file.source)
      if (info.isSymbolicLink()) await symlink(await readlink(file.source), target)
      else await linkOrCopy(file.source, target)
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return { dir, src, cleanup: () => rm(dir, { recursive: true, force: true }) }
}
