/** `agents/dev.yaml` and `agents/dev.md` both get `agents/dev.status.yaml`. */
export function statusFilePath(specPath: string): string {
  return specPath.replace(/\.(ya?ml|md)$/, '') + '.status.yaml'
}
