import { describe, expect, it } from 'vitest'
import { isKnownPlaceholder } from '../../../../sidecars/dlp/known-placeholders.js'

describe('known placeholders', () => {
  it.each([
    { value: '${GH_TOKEN}', placeholder: true },
    { value: '${{ secrets.NPM_TOKEN }}', placeholder: true },
    { value: '$(cat /run/secrets/x)', placeholder: true },
    { value: '$API_KEY', placeholder: true },
    { value: '$1', placeholder: true },
    { value: '%API_KEY%', placeholder: true },
    { value: '%s', placeholder: true },
    { value: '{{ .Values.password }}', placeholder: true },
    { value: '{0}', placeholder: true },
    { value: '@DB_PASSWORD@', placeholder: true },
    { value: '<your-token>', placeholder: true },
    { value: '[token]', placeholder: true },
    { value: '********', placeholder: true },
    { value: 'xxxxxxxxxxxx', placeholder: true },
    { value: '', placeholder: true },
    { value: 'your_api_key_here', placeholder: true },
    { value: 'your-token-here', placeholder: true },
    { value: 'YOURAPIKEY', placeholder: true },
    { value: 'changeme123', placeholder: true },
    { value: 'changeit', placeholder: true },
    { value: 'EXAMPLE-KEY-123', placeholder: true },
    { value: 'REDACTED', placeholder: true },
    { value: 'null', placeholder: true },
    { value: 'password', placeholder: true },
    { value: '/usr/local/etc/secret.pem', placeholder: true },
    { value: 'sk-proj-abc…xyz', placeholder: true },
    { value: 'pass', placeholder: false },
    { value: 'Xk9#mQ2$vL7!', placeholder: false },
    { value: 'aaab', placeholder: false },
    { value: 'example'.slice(1), placeholder: false },
  ])('$value', ({ value, placeholder }) => {
    expect(isKnownPlaceholder(value)).toBe(placeholder)
  })
})
