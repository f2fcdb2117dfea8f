import { describe, expect, it } from 'vitest'
import { isPlaceholderValue, isTemplateOrMask } from '../../../../sidecars/dlp/placeholder-values.js'

describe('placeholder values', () => {
  it.each([
    { value: '${GH_TOKEN}', template: true, placeholder: true },
    { value: '${{ secrets.NPM_TOKEN }}', template: true, placeholder: true },
    { value: '$(cat /run/secrets/x)', template: true, placeholder: true },
    { value: '$API_KEY', template: true, placeholder: true },
    { value: '%API_KEY%', template: true, placeholder: true },
    { value: '{{ .Values.password }}', template: true, placeholder: true },
    { value: '<your-token>', template: true, placeholder: true },
    { value: '********', template: true, placeholder: true },
    { value: 'xxxxxxxxxxxx', template: true, placeholder: true },
    { value: '', template: true, placeholder: true },
    { value: 'your_api_key_here', template: false, placeholder: true },
    { value: 'changeme123', template: false, placeholder: true },
    { value: 'EXAMPLE-KEY-123', template: false, placeholder: true },
    { value: 'pass', template: false, placeholder: false },
    { value: 'Xk9#mQ2$vL7!', template: false, placeholder: false },
    { value: 'aaab', template: false, placeholder: false },
  ])('$value', ({ value, template, placeholder }) => {
    expect(isTemplateOrMask(value)).toBe(template)
    expect(isPlaceholderValue(value)).toBe(placeholder)
  })
})
