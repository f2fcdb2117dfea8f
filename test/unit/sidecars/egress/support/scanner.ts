/**
 * The DLP scanner the egress tests run with: the real engine, as main.ts
 * wires it.
 */
export { createScanner as createTestScanner } from '../../../../../sidecars/dlp/index.js'
