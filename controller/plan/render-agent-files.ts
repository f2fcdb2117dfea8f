import type { GitUser } from '../spec/generated/spec-types.js'

/** A git config value, quoted so that any character is safe in it. */
function gitValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

/** The agent's ~/.gitconfig: its effective identity (agent overlays bottle, per field). */
export function renderGitconfig(user: GitUser): string {
  const lines = ['# written by bottle; the agent gets a fresh copy on every start']
  if (user.name !== undefined || user.email !== undefined) {
    lines.push('[user]')
    if (user.name !== undefined) lines.push(`\tname = ${gitValue(user.name)}`)
    if (user.email !== undefined) lines.push(`\temail = ${gitValue(user.email)}`)
  }
  return lines.join('\n') + '\n'
}
