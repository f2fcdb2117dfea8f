import { describe, expect, it } from 'vitest'
import { isJsonType, parseMediaType, unreadableContentEncoding } from '../../../../sidecars/dlp/media-type.js'

describe('parseMediaType', () => {
  it.each([
    { value: undefined, essence: '', params: {} },
    { value: 'application/json', essence: 'application/json', params: {} },
    { value: 'Application/JSON; Charset=UTF-8', essence: 'application/json', params: { charset: 'UTF-8' } },
    { value: 'multipart/form-data; boundary="a b;c"', essence: 'multipart/form-data', params: { boundary: 'a b;c' } },
    { value: 'multipart/form-data;boundary=xyz ; charset=utf-8', essence: 'multipart/form-data', params: { boundary: 'xyz', charset: 'utf-8' } },
    { value: 'not a type', essence: '', params: {} },
  ])('$value', ({ value, essence, params }) => {
    const parsed = parseMediaType(value)
    expect(parsed.essence).toBe(essence)
    expect(Object.fromEntries(parsed.params)).toEqual(params)
  })

  it.each([
    { essence: 'application/json', want: true },
    { essence: 'application/vnd.api+json', want: true },
    { essence: 'text/json', want: true },
    { essence: 'application/x-ndjson', want: false },
    { essence: 'text/plain', want: false },
  ])('isJsonType($essence)', ({ essence, want }) => {
    expect(isJsonType(essence)).toBe(want)
  })
})

describe('unreadableContentEncoding', () => {
  it.each([
    { value: undefined, want: undefined },
    { value: '', want: undefined },
    { value: 'identity', want: undefined },
    { value: ' Identity , identity', want: undefined },
    { value: 'gzip', want: 'content-encoding gzip is not inspected' },
    { value: 'identity, br', want: 'content-encoding br is not inspected' },
    { value: 'x-made-up', want: 'an unrecognized content-encoding is not inspected' },
  ])('$value', ({ value, want }) => {
    expect(unreadableContentEncoding(value)).toBe(want)
  })
})
