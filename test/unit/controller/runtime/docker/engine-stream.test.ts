import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { EngineStreamError, followBuildStream } from '../../../../../controller/runtime/docker/engine-stream.js'

const stream = (...chunks: string[]): Readable => Readable.from(chunks.map((chunk) => Buffer.from(chunk)))

describe('followBuildStream', () => {
  it('passes on each output line, including lines split across chunks', async () => {
    const lines: string[] = []
    await followBuildStream(
      stream('{"stream":"Step 1/2 : FROM base\\n"}\n{"stream":"Step 2/2 : RU', 'N true\\n"}\n{"status":"Downloading","id":"abc"}\n'),
      (line) => lines.push(line),
    )
    expect(lines).toEqual(['Step 1/2 : FROM base', 'Step 2/2 : RUN true', 'abc: Downloading'])
  })

  it('rejects with the first line of the engine error and the step it failed at', async () => {
    const failing = stream(
      '{"stream":"Step 3/6 : RUN false\\n"}\n',
      '{"errorDetail":{"code":1,"message":"The command \'/bin/sh -c false\' returned a non-zero code: 1\\nmore"},"error":"x"}\n',
    )
    const error = await followBuildStream(failing, () => {}).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(EngineStreamError)
    expect(error).toMatchObject({ step: 'Step 3/6 : RUN false', message: "The command '/bin/sh -c false' returned a non-zero code: 1" })
  })

  it('keeps text that is not JSON as output', async () => {
    const lines: string[] = []
    await followBuildStream(stream('plain text\n'), (line) => lines.push(line))
    expect(lines).toEqual(['plain text'])
  })
})
