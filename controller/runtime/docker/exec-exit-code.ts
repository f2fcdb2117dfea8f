import type Dockerode from 'dockerode'

/** The exit code of a Docker exec, once the engine has recorded it (it can trail the stream's end). */
export async function exitCodeOf(instance: Dockerode.Exec): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const info = await instance.inspect()
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('the engine never reported the exit code')
}
