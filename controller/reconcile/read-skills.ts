import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { SKILLS_DIR } from '../spec/list-spec-files.js'

/** A skill is instructions and small scripts; anything bigger is a mistake worth saying. */
const MAX_SKILL_BYTES = 1024 * 1024
const MAX_SKILL_FILES = 200

/**
 * Reads the skills an Agent names from the spec repo's skills/<name>/
 * folders, as text: they are copied into the agent at every start. Dot files
 * are left out, a symlink is refused (it could point anywhere on the
 * controller's machine), and so is a file that is not UTF-8 text.
 */
export function readSkills(specRoot: string, names: readonly string[]): Map<string, Map<string, string>> {
  const skills = new Map<string, Map<string, string>>()
  const decoder = new TextDecoder('utf-8', { fatal: true })
  for (const name of names) {
    const root = join(specRoot, SKILLS_DIR, name)
    const where = `${SKILLS_DIR}/${name}`
    let info
    try {
      info = lstatSync(root)
    } catch {
      throw new Error(`skill ${name}: ${where}/ not found in the spec repo`)
    }
    if (!info.isDirectory()) throw new Error(`skill ${name}: ${where} is not a folder`)
    if (!realpathSync(root).startsWith(realpathSync(specRoot) + sep)) throw new Error(`skill ${name}: ${where} leaves the spec repo`)
    const files = new Map<string, string>()
    let bytes = 0
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (entry.name.startsWith('.')) continue
        const path = join(dir, entry.name)
        const rel = relative(root, path).split(sep).join('/')
        if (entry.isDirectory()) {
          walk(path)
          continue
        }
        if (!entry.isFile()) throw new Error(`skill ${name}: ${where}/${rel} is not a regular file (symlinks are not followed)`)
        const content = readFileSync(path)
        bytes += content.length
        if (files.size >= MAX_SKILL_FILES || bytes > MAX_SKILL_BYTES) throw new Error(`skill ${name}: ${where}/ is over ${MAX_SKILL_FILES} files or ${MAX_SKILL_BYTES / 1024} KiB`)
        try {
          files.set(rel, decoder.decode(content))
        } catch {
          throw new Error(`skill ${name}: ${where}/${rel} is not UTF-8 text; skills are copied as text`)
        }
      }
    }
    walk(root)
    skills.set(name, files)
  }
  return skills
}
