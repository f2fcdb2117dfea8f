/**
 * Can this host run bottle micro-VMs, and how fast? The answer goes into an
 * Agent's status: `vm` boxes run under KVM when a guest really boots with it,
 * under TCG (emulation, several times slower, equally isolated) otherwise,
 * and not at all, with a one-line reason, when QEMU or the guest kernel is
 * missing. A box is never silently given a weaker runtime.
 *
 * /dev/kvm being present is not enough: nested or paravirtual KVM devices
 * exist that accept the ioctls and then never run a stock kernel. So the
 * probe boots the guest kernel with KVM and waits, time-boxed, for its first
 * console line.
 */
import { constants } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import { execa } from 'execa'
import { findOnPath, locateKernel, type AssetPaths, type GuestKernel } from './guest-assets.js'

export type Accelerator = 'kvm' | 'tcg'

export type HostCapability =
  | {
      usable: true
      qemu: string
      kernel: GuestKernel
      accelerator: Accelerator
      /** Why KVM is not used, when it is not. */
      kvmUnavailable?: string
    }
  | { usable: false; reason: string }

export interface ProbeOptions extends AssetPaths {
  /** QEMU binary. Default: BOTTLE_VM_QEMU, else qemu-system-x86_64 on PATH. */
  qemu?: string
  /** Device node to try KVM with. */
  kvmDevice?: string
  /** How long a KVM guest may take to print its first line. */
  kvmTimeoutMs?: number
  /** Skip the KVM boot and use TCG (BOTTLE_VM_ACCEL=tcg does the same). */
  forceTcg?: boolean
}

export async function probeHost(options: ProbeOptions = {}): Promise<HostCapability> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { usable: false, reason: `the vm runtime needs Linux on x86-64, this host is ${process.platform}/${process.arch}` }
  }
  const qemu = options.qemu ?? nonEmpty(process.env.BOTTLE_VM_QEMU) ?? findOnPath('qemu-system-x86_64')
  if (qemu === undefined) return { usable: false, reason: 'qemu-system-x86_64 is not installed (Debian: qemu-system-x86)' }
  let kernel: GuestKernel
  try {
    kernel = await locateKernel(options)
  } catch (error) {
    return { usable: false, reason: (error as Error).message }
  }
  const forced = options.forceTcg === true || process.env.BOTTLE_VM_ACCEL === 'tcg'
  if (forced) return { usable: true, qemu, kernel, accelerator: 'tcg', kvmUnavailable: 'TCG requested' }
  const kvmUnavailable = await probeKvm(qemu, kernel, options)
  return kvmUnavailable === undefined
    ? { usable: true, qemu, kernel, accelerator: 'kvm' }
    : { usable: true, qemu, kernel, accelerator: 'tcg', kvmUnavailable }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/** Undefined when a guest kernel boots under KVM; otherwise why not. */
export async function probeKvm(qemu: string, kernel: GuestKernel, options: ProbeOptions = {}): Promise<string | undefined> {
  const device = options.kvmDevice ?? '/dev/kvm'
  try {
    await access(device, constants.R_OK | constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? `${device} does not exist` : `${device} is not usable by this user (${code ?? 'error'})`
  }
  const timeoutMs = options.kvmTimeoutMs ?? 5_000
  // No initramfs and no disk: the kernel prints its banner within a fraction
  // of a second under working KVM, then panics, which does not matter
  // because the probe kills it as soon as the banner arrives.
  const child = execa(
    qemu,
    [
      '-M', 'microvm',
      '-accel', 'kvm',
      '-cpu', 'host',
      '-m', '128',
      '-nodefaults', '-no-user-config', '-no-reboot',
      '-display', 'none',
      '-serial', 'stdio',
      '-kernel', kernel.kernel,
      '-append', 'console=ttyS0 earlyprintk=ttyS0 panic=-1',
    ],
    { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  try {
    const booted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      let seen = ''
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8')
        if (seen.includes('Linux version')) {
          clearTimeout(timer)
          resolve(true)
        }
      })
      void child.then(() => {
        clearTimeout(timer)
        resolve(false)
      })
    })
    if (booted) return undefined
    const said = stderr.trim().split('\n').find((line) => line !== '')
    return said === undefined ? `a guest did not boot under KVM within ${timeoutMs} ms` : `QEMU with KVM failed: ${said}`
  } finally {
    child.kill('SIGKILL')
    await child
  }
}

/**
 * The host's TSC frequency in kHz, for the guest's tsc_early_khz: the
 * kernel's own figure when it exports one, else the first "cpu MHz" of
 * /proc/cpuinfo (exact on hosts with a constant TSC). Undefined when unknown.
 */
export async function hostTscKhz(): Promise<number | undefined> {
  try {
    const khz = Number((await readFile('/sys/devices/system/cpu/cpu0/tsc_freq_khz', 'utf8')).trim())
    if (Number.isFinite(khz) && khz > 0) return khz
  } catch {
    // Only some kernels export it.
  }
  try {
    const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1]
    return mhz === undefined ? undefined : Math.round(Number(mhz) * 1000)
  } catch {
    return undefined
  }
}

/** One line for an Agent's status: how `vm` boxes run here, or why they cannot. */
export function describeHost(capability: HostCapability): string {
  if (!capability.usable) return `vm runtime unavailable: ${capability.reason}`
  return capability.accelerator === 'kvm'
    ? 'vm runtime: KVM'
    : `vm runtime: TCG emulation (slower; ${capability.kvmUnavailable ?? 'KVM not used'})`
}
