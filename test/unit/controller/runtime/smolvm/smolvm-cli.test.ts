/** The pure halves of the smolvm driver: command lines, the machine list, the guest command wrapper, artifact names. */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { describe, expect, it } from 'vitest'
import { envFileText, wrappedArgv } from '../../../../../controller/runtime/smolvm/guest-exec.js'
import { artifactPath } from '../../../../../controller/runtime/smolvm/image-pack.js'
import { machineCreateArgv, machineExecArgv, networkArgs, parseMachineList } from '../../../../../controller/runtime/smolvm/smolvm-cli.js'
import { hostsFile } from '../../../../../controller/runtime/smolvm/smolvm-driver.js'

describe('networkArgs', () => {
  it.each([
    { address: undefined, want: [] },
    { address: '10.99.0.2', want: ['--net', '--allow-cidr', '10.99.0.2/32'] },
    { address: '127.0.0.16', want: ['--net', '--allow-cidr', '127.0.0.16/32'] },
  ])('$address -> $want', ({ address, want }) => {
    expect(networkArgs(address)).toEqual(want)
  })

  it.each(['10.0.0.0/8', '0.0.0.0/0', 'bundle', '10.99.0.2 --net', '::1', ''])('refuses %j: only one IPv4 host is ever allowed', (address) => {
    expect(() => networkArgs(address)).toThrow(RangeError)
  })
})

describe('machineCreateArgv', () => {
  it('names the machine and the artifact, never --smolfile, with the network and the folders', () => {
    expect(
      machineCreateArgv({ name: 'bottle-a-smolvm', from: '/c/x.smolmachine.smolmachine', allowAddress: '10.0.0.3', volumes: [{ host: '/s/ws', guest: '/workspace', readOnly: false }, { host: '/s/ca', guest: '/etc/ca', readOnly: true }] }),
    ).toEqual(['machine', 'create', '--name', 'bottle-a-smolvm', '--from', '/c/x.smolmachine.smolmachine', '--net', '--allow-cidr', '10.0.0.3/32', '-v', '/s/ws:/workspace', '-v', '/s/ca:/etc/ca:ro'])
  })

  it.each([{ host: 'rel', guest: '/g' }, { host: '/h', guest: 'g' }, { host: '/h:x', guest: '/g' }])('refuses the volume %j', (volume) => {
    expect(() => machineCreateArgv({ name: 'm', from: '/f', volumes: [{ ...volume, readOnly: false }] })).toThrow(RangeError)
  })
})

describe('machineExecArgv', () => {
  it.each([
    { options: {}, want: ['machine', 'exec', '--name', 'm', '--', 'true'] },
    { options: { stdin: true }, want: ['machine', 'exec', '--name', 'm', '-i', '--', 'true'] },
    { options: { stdin: true, tty: true }, want: ['machine', 'exec', '--name', 'm', '-i', '-t', '--', 'true'] },
  ])('$options', ({ options, want }) => {
    expect(machineExecArgv('m', ['true'], options)).toEqual(want)
  })
})

describe('parseMachineList', () => {
  it.each([
    { text: '[]', want: [] },
    { text: '', want: [] },
    { text: '[{"name":"a","state":"running"},{"name":"b","state":"stopped"}]', want: [{ name: 'a', running: true }, { name: 'b', running: false }] },
    { text: '{"machines":[{"name":"a","status":"Running"}]}', want: [{ name: 'a', running: true }] },
    { text: '[{"state":"running"},{"name":"c"}]', want: [{ name: 'c', running: false }] },
  ])('$text', ({ text, want }) => {
    expect(parseMachineList(text)).toEqual(want)
  })

  it('fails on output it cannot read', () => {
    expect(() => parseMachineList('"nope"')).toThrow(/unexpected `smolvm machine ls --json` output/)
  })
})

describe('the guest command wrapper', () => {
  it('quotes every value so the shell reads it back byte for byte, and refuses names that are not names', async () => {
    const env = { A: "it's $HOME `x` \\ \"q\"", B: 'line\nbreak', EMPTY: '' }
    const text = envFileText(env)
    const { stdout } = await execa('sh', ['-c', `${text}printf '%s|%s|%s' "$A" "$B" "$EMPTY"`])
    expect(stdout).toBe(`${env.A}|${env.B}|`)
    expect(() => envFileText({ 'A-B': 'x' })).toThrow(RangeError)
    expect(() => envFileText({ 'A;rm': 'x' })).toThrow(RangeError)
  })

  it('runs as root without runuser, as a named user through runuser -u', () => {
    const root = wrappedArgv({ argv: ['id'] })
    expect(root.slice(3)).toEqual(['bottle-exec', '', '', 'id'])
    expect(wrappedArgv({ argv: ['id'], user: 'agent', workdir: '/w', envFile: '/run/bottle-part/env-1' }).slice(3)).toEqual(['bottle-exec', '/run/bottle-part/env-1', '/w', 'runuser', '-u', 'agent', '--', 'id'])
    expect(wrappedArgv({ argv: ['id'], user: 'agent:agent' }).slice(-5)).toEqual(['runuser', '-u', 'agent', '--', 'id'])
    expect(wrappedArgv({ argv: ['id'], user: '0:0' }).slice(-1)).toEqual(['id'])
    expect(() => wrappedArgv({ argv: [] })).toThrow(RangeError)
  })

  it('reads the env file, removes it, changes folder, then runs the command', async () => {
    const { mkdtempSync, writeFileSync, existsSync, rmSync } = await import('node:fs')
    const dir = mkdtempSync(join(tmpdir(), 'smolvm-wrap-'))
    try {
      writeFileSync(`${dir}/env`, envFileText({ X: 'from file' }), { mode: 0o600 })
      const { stdout } = await execa(...split(wrappedArgv({ argv: ['sh', '-c', 'printf "%s@%s" "$X" "$(pwd)"'], envFile: `${dir}/env`, workdir: '/' })))
      expect(stdout).toBe('from file@/')
      expect(existsSync(`${dir}/env`)).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('hostsFile', () => {
  it('names the bundle at its address, and nothing without one', () => {
    expect(hostsFile('10.99.0.2')).toBe('127.0.0.1\tlocalhost\n::1\tlocalhost\n10.99.0.2\tegress git-gate supervise sidecars\n')
    expect(hostsFile(undefined)).toBe('127.0.0.1\tlocalhost\n::1\tlocalhost\n')
  })
})

describe('artifactPath', () => {
  it('keys the cache by the image id; pack create -o <out> writes <out>.smolmachine for --from', () => {
    expect(artifactPath('/cache', 'sha256:0123456789abcdef0123')).toEqual({ out: '/cache/0123456789abcdef.smolmachine', artifact: '/cache/0123456789abcdef.smolmachine.smolmachine' })
    expect(() => artifactPath('/cache', 'agent:latest')).toThrow(RangeError)
  })
})

function split(argv: string[]): [string, string[]] {
  return [argv[0]!, argv.slice(1)]
}
