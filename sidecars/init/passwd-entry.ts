import { existsSync, readFileSync } from 'node:fs'
import { writeFileAtomic } from '../shared/atomic-write.js'

/**
 * The bundle runs as the controller's uid, which the image's /etc/passwd
 * does not know; OpenSSH refuses to run for a uid without an entry ("No user
 * exists for uid"), so the git gate could not reach ssh upstreams. The image
 * makes /etc/passwd a link into /run/bottle, and init writes the image's own
 * entries plus one for the uid it runs as before any daemon starts.
 */
export async function ensurePasswdEntry(options: { basePath: string; passwdPath: string; uid: number; gid: number; home: string }): Promise<'written' | 'present' | 'unsupported'> {
  if (!existsSync(options.basePath)) return 'unsupported'
  const base = readFileSync(options.basePath, 'utf8')
  const known = base.split('\n').some((line) => line.split(':')[2] === String(options.uid))
  const entry = known ? '' : `bottle:x:${options.uid}:${options.gid}:bottle sidecars:${options.home}:/usr/sbin/nologin\n`
  const content = `${base.endsWith('\n') || base === '' ? base : `${base}\n`}${entry}`
  await writeFileAtomic(options.passwdPath, content, 0o644)
  return known ? 'present' : 'written'
}
