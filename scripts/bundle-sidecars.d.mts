/** Bundles each existing sidecars/<daemon>/main.ts into <outdir>/<daemon>.mjs; returns the daemons bundled. */
export function bundleSidecars(options?: { root?: string; outdir?: string }): Promise<string[]>
