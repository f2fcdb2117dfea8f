/**
 * Certificates for TLS interception.
 *
 * The controller mints one CA per Agent (`mintCertificateAuthority`) and
 * installs its certificate in the agent's trust store; the proxy signs a leaf
 * for each host the agent connects to (`createLeafCertificates`). node-forge
 * builds and signs the certificates; key pairs come from Node's native crypto,
 * which is orders of magnitude faster than forge's JavaScript RSA. The proxy
 * uses one leaf key per process, so minting a leaf costs one signature.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto'
import { isIP } from 'node:net'
import { createSecureContext, type SecureContext } from 'node:tls'
import forge from 'node-forge'

const { pki, md } = forge

export interface CertificateAuthority {
  certPem: string
  keyPem: string
}

export interface MintCaOptions {
  commonName: string
  /** Default 3650 days: the CA lives as long as the Agent's trust store entry. */
  validityDays?: number
  now?: Date
}

const DAY_MS = 24 * 60 * 60 * 1000

function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] as number) & 0x7f // positive INTEGER
  return bytes.toString('hex')
}

function nativeRsaKeyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
  const forgeKey = pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  return { privateKey: forgeKey, publicKey: pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem }
}

let leafKeyPair: ReturnType<typeof nativeRsaKeyPair> | undefined

/** One leaf key for the life of the process: reloads then cost no key generation. */
function processLeafKey(): ReturnType<typeof nativeRsaKeyPair> {
  leafKeyPair ??= nativeRsaKeyPair()
  return leafKeyPair
}

/** Mint a CA for one Agent: RSA 2048, SHA-256, may sign leaves only (pathLen 0). */
export function mintCertificateAuthority(options: MintCaOptions): CertificateAuthority {
  const now = options.now ?? new Date()
  const keys = nativeRsaKeyPair()
  const cert = pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = randomSerial()
  cert.validity.notBefore = new Date(now.getTime() - DAY_MS)
  cert.validity.notAfter = new Date(now.getTime() + (options.validityDays ?? 3650) * DAY_MS)
  const subject = [
    { name: 'commonName', value: options.commonName.slice(0, 64) },
    { name: 'organizationName', value: 'bottle' },
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(keys.privateKey, md.sha256.create())
  return { certPem: pki.certificateToPem(cert), keyPem: keys.keyPem }
}

export interface LeafCertificate {
  certPem: string
  notAfter: Date
}

interface LeafSigner {
  caCert: forge.pki.Certificate
  caKey: KeyObject
  caKeyIdentifier: string
  leafPublicKey: forge.pki.rsa.PublicKey
}

/** Sign a leaf for one host (DNS name or IP literal) with the CA. */
function signLeaf(signer: LeafSigner, host: string, now: Date, validityDays: number): LeafCertificate {
  const cert = pki.createCertificate()
  cert.publicKey = signer.leafPublicKey
  cert.serialNumber = randomSerial()
  cert.validity.notBefore = new Date(now.getTime() - DAY_MS)
  const wanted = new Date(now.getTime() + validityDays * DAY_MS)
  cert.validity.notAfter = wanted < signer.caCert.validity.notAfter ? wanted : signer.caCert.validity.notAfter
  cert.setSubject([{ name: 'commonName', value: host.slice(0, 64) }])
  cert.setIssuer(signer.caCert.subject.attributes)
  const altName = isIP(host) ? { type: 7, ip: host } : { type: 2, value: host }
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [altName] },
    { name: 'authorityKeyIdentifier', keyIdentifier: signer.caKeyIdentifier },
  ])
  signNatively(cert, signer.caKey)
  return { certPem: pki.certificateToPem(cert), notAfter: cert.validity.notAfter }
}

/**
 * What forge's `cert.sign()` does, with the RSA signature computed by Node's
 * crypto: forge's JavaScript modular exponentiation costs ~50 ms per leaf,
 * the native one well under a millisecond.
 */
function signNatively(cert: forge.pki.Certificate, caKey: KeyObject): void {
  const oid = pki.oids.sha256WithRSAEncryption as string
  cert.signatureOid = oid
  cert.siginfo.algorithmOid = oid
  // getTBSCertificate is public in forge but missing from its type definitions.
  const tbsAsn1 = (pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert)
  ;(cert as forge.pki.Certificate & { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbsAsn1
  const tbs = forge.asn1.toDer(tbsAsn1).getBytes()
  cert.signature = sign('sha256', Buffer.from(tbs, 'binary'), caKey).toString('binary')
}

export interface LeafCertificatesOptions {
  ca: CertificateAuthority
  /** Hosts kept in the cache; the least recently used is dropped past this. */
  maxEntries?: number
  validityDays?: number
  now?: () => Date
}

export interface LeafCertificates {
  /** A TLS context presenting a leaf for `host` (canonical: lowercase, IPv6 without brackets). */
  secureContextFor(host: string): SecureContext
  /** The leaf's certificate, for tests and diagnostics. */
  certificateFor(host: string): LeafCertificate
  /** The key every leaf of this process certifies (PEM), for serving a leaf outside a SecureContext. */
  readonly keyPem: string
  readonly size: number
}

/**
 * On-demand leaves for the proxy, cached per host. Throws at construction
 * when the CA pair is unusable, so a bad `ca.crt`/`ca.key` fails the config
 * load rather than the first handshake.
 */
export function createLeafCertificates(options: LeafCertificatesOptions): LeafCertificates {
  const caCert = pki.certificateFromPem(options.ca.certPem)
  const caKey = createPrivateKey(options.ca.keyPem)
  if (caKey.asymmetricKeyType !== 'rsa') throw new Error('ca.key must be an RSA key')
  const caX509 = new X509Certificate(options.ca.certPem)
  if (!caX509.ca) throw new Error('ca.crt is not a CA certificate')
  if (!caX509.checkPrivateKey(caKey)) throw new Error('ca.key does not match ca.crt')

  const leafKey = processLeafKey()
  const signer: LeafSigner = {
    caCert,
    caKey,
    caKeyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(),
    leafPublicKey: leafKey.publicKey,
  }
  const maxEntries = options.maxEntries ?? 2000
  const validityDays = options.validityDays ?? 30
  const now = options.now ?? (() => new Date())
  const cache = new Map<string, { leaf: LeafCertificate; context: SecureContext }>()

  const entryFor = (host: string) => {
    const at = now()
    const cached = cache.get(host)
    // Renew a day early so a long-lived connection never sees an expiring leaf.
    if (cached && cached.leaf.notAfter.getTime() - at.getTime() > DAY_MS) {
      cache.delete(host)
      cache.set(host, cached)
      return cached
    }
    const leaf = signLeaf(signer, host, at, validityDays)
    const context = createSecureContext({
      cert: `${leaf.certPem}${options.ca.certPem}`,
      key: leafKey.keyPem,
      minVersion: 'TLSv1.2',
    })
    const entry = { leaf, context }
    cache.delete(host)
    cache.set(host, entry)
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string)
    return entry
  }

  return {
    secureContextFor: (host) => entryFor(host).context,
    certificateFor: (host) => entryFor(host).leaf,
    keyPem: leafKey.keyPem,
    get size() {
      return cache.size
    },
  }
}
