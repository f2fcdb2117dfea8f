/**
 * A real git server over ssh: a container from the offline base image
 * running OpenSSH's sshd on port 2222 with its own freshly generated host
 * keys, a `git` account that accepts one public key, and a bare repository
 * `/home/git/app.git` seeded with one commit on main. Restartable (stop and
 * start keep the host keys and the repository).
 */
import { addressOf, docker, exec, startContainer, waitFor, type ExecResult } from './containers.js'

export const UPSTREAM_PORT = 2222
export const UPSTREAM_REPO = '/home/git/app.git'

const SETUP = `set -eu
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
id git >/dev/null 2>&1 || useradd -m -s /bin/sh -p '*' git
mkdir -p /home/git/.ssh /run/sshd
printf '%s\\n' "$AUTHORIZED_KEY" > /home/git/.ssh/authorized_keys
chmod 700 /home/git/.ssh && chmod 600 /home/git/.ssh/authorized_keys && chown -R git:git /home/git/.ssh
exec /usr/sbin/sshd -D -e -p ${UPSTREAM_PORT} -o HostKey=/etc/ssh/ssh_host_ed25519_key -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o UsePAM=no -o PermitRootLogin=no
`

const SEED = `set -eu
git init -q --bare -b main ${UPSTREAM_REPO}
rm -rf /tmp/seed && git init -q -b main /tmp/seed && cd /tmp/seed
printf '# app\\n' > README.md
git add README.md && git commit -q -m 'initial commit'
git push -q ${UPSTREAM_REPO} main
`

export interface SshUpstream {
  container: string
  /** The host key line the gate pins ("ssh-ed25519 AAAA..."). */
  hostKey: string
  address(): Promise<string>
  /** Run a command in the container as the git user. */
  git(script: string): Promise<ExecResult>
  /** The commit id of a ref in the upstream repository. */
  revParse(ref: string): Promise<string>
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startSshUpstream(options: { run: string; name: string; image: string; network: string; alias: string; publicKey: string }): Promise<SshUpstream> {
  const container = await startContainer(options.run, {
    name: options.name,
    image: options.image,
    network: options.network,
    aliases: [options.alias],
    cmd: ['sh', '-c', SETUP],
    env: { AUTHORIZED_KEY: options.publicKey.trim() },
  })
  const listening = () =>
    waitFor('sshd', async () => (await exec(container, ['ss', '-ltn'])).stdout.includes(`:${UPSTREAM_PORT} `), 120_000)
  await listening()
  const asGit = (script: string) => exec(container, ['sh', '-c', script], { user: 'git', env: { HOME: '/home/git', GIT_AUTHOR_NAME: 'Someone Else', GIT_AUTHOR_EMAIL: 'else@example.com', GIT_COMMITTER_NAME: 'Someone Else', GIT_COMMITTER_EMAIL: 'else@example.com' } })
  const seeded = await asGit(SEED)
  if (seeded.exitCode !== 0) throw new Error(`seeding the upstream failed: ${seeded.stderr}`)
  const hostKey = (await exec(container, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])).stdout.trim().split(/\s+/).slice(0, 2).join(' ')
  return {
    container,
    hostKey,
    address: () => addressOf(container, options.network),
    git: asGit,
    async revParse(ref) {
      const result = await asGit(`git --git-dir=${UPSTREAM_REPO} rev-parse --verify --quiet ${ref}`)
      return result.stdout.trim()
    },
    async stop() {
      await docker.getContainer(container).stop({ t: 1 })
    },
    async start() {
      await docker.getContainer(container).start()
      await listening()
    },
  }
}
