/**
 * Where things are inside the agent image (images/agent), for the code that
 * configures an agent part: the controller's plan sets the environment and
 * mounts from these. Kept in one place so the image and its users agree.
 */
export const AGENT_IMAGE_LAYOUT = {
  user: 'agent',
  uid: 1000,
  gid: 1000,
  home: '/home/agent',
  /** Mount point of the workspace volume, and the image's working directory. */
  workspace: '/home/agent/workspace',
  /**
   * Read-only folder the entrypoint reads at every start: `ca.crt` (the
   * Agent's CA, installed into the system trust store) and `gitconfig`
   * (copied to ~/.gitconfig). Both must be world-readable (0644): root in
   * the box has no CAP_DAC_OVERRIDE.
   */
  configDir: '/etc/bottle/agent',
  /** Where the entrypoint installs the Agent's CA (NODE_EXTRA_CA_CERTS points here). */
  caCertificate: '/usr/local/share/ca-certificates/bottle-agent.crt',
  /** The system bundle with the Agent's CA in it (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, GIT_SSL_CAINFO). */
  caBundle: '/etc/ssl/certs/ca-certificates.crt',
  /** Written by the entrypoint once the CA, git config and workspace are in place. */
  readyFile: '/run/bottle-agent-ready',
} as const

/** The proxy and CA environment an agent part needs so every common tool goes through its bundle. */
export function agentProxyEnvironment(proxyUrl = 'http://egress:8888', noProxy = 'localhost,127.0.0.1'): Record<string, string> {
  return {
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_EXTRA_CA_CERTS: AGENT_IMAGE_LAYOUT.caCertificate,
    SSL_CERT_FILE: AGENT_IMAGE_LAYOUT.caBundle,
    REQUESTS_CA_BUNDLE: AGENT_IMAGE_LAYOUT.caBundle,
    GIT_SSL_CAINFO: AGENT_IMAGE_LAYOUT.caBundle,
  }
}
