import { existsSync, readFileSync, statSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { ConnectionParams } from '../driver/connection-params.js';
import { ConnectionError } from '../errors/connection-error.js';
import type { PostgresTls, SslMode } from './postgres-connection-params.js';

/** One way of opening the session: in plain text, or after an SSLRequest the server said 'S' to. */
export type TlsAttempt = 'plain' | 'tls';

/**
 * How libpq's sslmode opens a session: which attempts, in which order. `allow` tries plain text
 * first and TLS when that fails; `prefer` the other way round; `disable` and the modes that need
 * TLS make one attempt; over a unix-domain socket (`host` a path) every mode connects in plain text.
 */
export function attemptsFor(mode: SslMode, host = ''): readonly TlsAttempt[] {
  // libpq never asks for TLS over a unix-domain socket, whatever the mode (psql agrees: see
  // spec/libpq-oracle.spec.ts, "sslmode on a unix socket is ignored").
  if (host.startsWith('/')) return ['plain'];
  switch (mode) {
    case 'disable':
      return ['plain'];
    case 'allow':
      return ['plain', 'tls'];
    case 'prefer':
      return ['tls', 'plain'];
    default:
      return ['tls'];
  }
}

/** What a TLS attempt connects with, and what its errors need to say. */
export interface TlsSetup {
  /** pg's `ssl` option: `tls.connect` options (a secure context holds the keys and the CAs). */
  readonly options: tls.ConnectionOptions;
  /** Which CAs the server's certificate is checked against, as a message says it; undefined when it is not checked. */
  readonly trusted: string | undefined;
  /** Where the client certificate came from, as a message says it; undefined when none is sent. */
  readonly clientCert: string | undefined;
}

/** Node's TLS options that {@link buildTlsSetup} puts into the secure context rather than into the connect options. */
const CONTEXT_KEYS = new Set(['ca', 'cert', 'key', 'pfx', 'passphrase', 'crl', 'ciphers', 'ecdhCurve', 'minVersion', 'maxVersion', 'secureOptions', 'secureProtocol', 'sigalgs', 'privateKeyEngine', 'privateKeyIdentifier', 'clientCertEngine', 'dhparam', 'honorCipherOrder', 'sessionIdContext', 'ticketKeys', 'sessionTimeout']);

/**
 * Builds the TLS options of one attempt from libpq's parameters, reading the files as libpq does
 * at each connection: `sslrootcert` (default `~/.postgresql/root.crt` when it exists; `system`
 * for the system's CAs), `sslcrl` (default `~/.postgresql/root.crl`), `sslcert`/`sslkey`
 * (default `~/.postgresql/postgresql.crt`/`.key` when the certificate exists) and `sslpassword`.
 * The server's certificate chain is verified for `verify-ca` and `verify-full`, and for the
 * weaker modes when a root certificate is present (libpq's compatibility rule: `require` then
 * behaves as `verify-ca`); its host name only for `verify-full`. Node options a config gave as
 * `ssl: { … }` override what the files say. Throws a non-retryable {@link ConnectionError}
 * saying which file is wrong and how.
 *
 * @example
 * ```ts
 * const setup = buildTlsSetup({ mode: 'verify-full', rootCert: '/etc/ssl/db-ca.crt', cert: undefined, key: undefined, keyPassword: undefined, crl: undefined, node: undefined }, 'db.example');
 * ```
 */
export function buildTlsSetup(config: PostgresTls, target: string, home: string = homedir()): TlsSetup {
  const { mode, node } = config;
  const dot = (name: string): string => join(home, '.postgresql', name);
  const fail = (message: string, cause?: unknown): never => {
    throw new ConnectionError(`could not connect to ${target}: ${message}`, { isRetryable: false, cause });
  };
  const context: tls.SecureContextOptions = {};

  // The server's certificate: which CAs it is checked against.
  let trusted: string | undefined;
  if (node?.ca !== undefined) {
    trusted = 'ssl.ca';
  } else if (config.rootCert === 'system') {
    if (mode !== 'verify-full') fail(`weak sslmode '${mode}' may not be used with sslrootcert=system (use verify-full).`);
    context.ca = systemRoots();
    trusted = "the system's trusted roots (sslrootcert=system)";
  } else {
    const path = config.rootCert ?? dot('root.crt');
    if (existsSync(path)) {
      const pem = readText(path, 'root certificate', fail);
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail(`root certificate file "${path}" holds no PEM certificate.`);
      context.ca = pem;
      trusted = `sslrootcert "${path}"`;
    } else if (mode === 'verify-ca' || mode === 'verify-full') {
      // A config that gave Node options (ssl: true or { … }) keeps Node's own default CAs.
      if (node === undefined) {
        fail(
          `root certificate file "${path}" does not exist. Either provide the file (sslrootcert), use the system's trusted roots with ` +
            `sslrootcert=system, or change sslmode to disable server certificate verification.`,
        );
      }
      trusted = "Node's default trusted roots";
    }
  }
  const verifyChain = trusted !== undefined;
  if (verifyChain && node?.crl === undefined) {
    const crl = config.crl ?? dot('root.crl');
    if (existsSync(crl)) context.crl = readText(crl, 'certificate revocation list', fail);
  }

  // The client certificate: sent when the file exists, as libpq does.
  let clientCert: string | undefined;
  if (node?.cert !== undefined || node?.pfx !== undefined) {
    clientCert = 'ssl.cert';
  } else {
    const certPath = config.cert ?? dot('postgresql.crt');
    if (existsSync(certPath)) {
      const keyPath = config.key ?? dot('postgresql.key');
      if (!existsSync(keyPath)) fail(`certificate present, but not private key file "${keyPath}".`);
      checkKeyPermissions(keyPath, fail);
      context.cert = readText(certPath, 'client certificate', fail);
      const keyPem = readText(keyPath, 'private key', fail);
      const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(keyPem);
      if (encrypted && config.keyPassword === undefined) fail(`the client key "${keyPath}" is encrypted and no sslpassword was given.`);
      try {
        // Decrypted here, so that a wrong passphrase is told apart from a key that does not fit.
        context.key = createPrivateKey({ key: keyPem, format: 'pem', passphrase: config.keyPassword ?? '' }).export({ format: 'pem', type: 'pkcs8' });
      } catch (error) {
        fail(encrypted ? `could not decrypt the client key "${keyPath}": sslpassword is wrong.` : `could not load the client key "${keyPath}": ${messageOf(error)}.`, error);
      }
      clientCert = `sslcert "${certPath}"`;
    }
  }

  const connectOptions: Record<string, unknown> = { rejectUnauthorized: verifyChain };
  if (mode !== 'verify-full') connectOptions.checkServerIdentity = acceptAnyName;
  for (const [key, value] of Object.entries(node ?? {})) {
    if (CONTEXT_KEYS.has(key)) (context as Record<string, unknown>)[key] = value;
    else connectOptions[key] = value;
  }
  try {
    connectOptions.secureContext = tls.createSecureContext(context);
  } catch (error) {
    fail(`the TLS settings could not be used: ${messageOf(error)}. Check sslrootcert, sslcert, sslkey and sslcrl (or the ssl options).`, error);
  }
  return { options: connectOptions as tls.ConnectionOptions, trusted, clientCert };
}

/**
 * The TLS config of params some other code resolved without the `tls` field (a driver wrapped
 * by a user, an older resolver): `ssl: false` is `disable`, anything else is the Node options
 * pg took, with Node's verification (or `require` when they say `rejectUnauthorized: false`).
 */
export function tlsOfParams(params: ConnectionParams): PostgresTls {
  const given = (params as { tls?: PostgresTls }).tls;
  if (given !== undefined) return given;
  const node = params.ssl === false ? undefined : params.ssl === true ? {} : (params.ssl as tls.ConnectionOptions);
  const mode: SslMode = node === undefined ? 'disable' : node.rejectUnauthorized === false ? 'require' : 'verify-full';
  return { mode, rootCert: undefined, cert: undefined, key: undefined, keyPassword: undefined, crl: undefined, node };
}

/**
 * The server name to check the certificate against when the session connects to a numeric
 * `hostaddr` but the config named the host (libpq checks `host`), for SNI and identity.
 */
export function serverNameFor(host: string | undefined, hostaddr: string | undefined): string | undefined {
  return hostaddr !== undefined && host !== undefined && isIP(host) === 0 && !host.startsWith('/') ? host : undefined;
}

/** The TLS failure `error` (from a TLS attempt) as a message and its fix, or undefined when it is no TLS failure. */
export function describeTlsFailure(error: unknown, setup: TlsSetup | undefined, mode: SslMode, peer: tls.PeerCertificate | undefined): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const { host, cert } = error as { host?: string; cert?: tls.PeerCertificate };
    return (
      `the host name '${host ?? '?'}' does not match the server's certificate, which is for ${namesOf(cert ?? peer)} ` +
      `(sslmode=${mode} checks it). Connect by a name the certificate has, or use sslmode=verify-ca to check the chain alone.`
    );
  }
  if (CHAIN_CODES.has(code)) {
    const who = peer?.subject === undefined ? '' : ` (${dn(peer.subject)}, issued by ${dn(peer.issuer)})`;
    return (
      `the server's certificate${who} is not signed by a CA in ${setup?.trusted ?? 'the trusted roots'} (${code}). ` +
      (mode === 'verify-ca' || mode === 'verify-full'
        ? `Give the CA that signed it in sslrootcert, or use sslmode=require to encrypt without verifying the server.`
        : `sslmode=${mode} verifies the chain because a root certificate is given, as libpq does: give the CA that signed it there.`)
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID' || code === 'CERT_REVOKED') {
    return `the server's certificate${peer?.subject === undefined ? '' : ` (${dn(peer.subject)})`} is not valid: ${messageOf(error)} (${code}).`;
  }
  const alert = /^ERR_SSL_TLSV1[0-9]?_ALERT_(.+)$/.exec(code);
  if (alert && CLIENT_CERT_ALERTS.has(alert[1])) {
    return (
      `the server refused the client certificate${setup?.clientCert ? ` (${setup.clientCert})` : ' (none was sent)'}: ` +
      `${alert[1].toLowerCase().replace(/_/g, ' ')}. The server must trust the CA that signed it (its ssl_ca_file).`
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `the TLS handshake failed: ${messageOf(error)} (${code}).`;
  return undefined;
}

const CHAIN_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'INVALID_CA', 'CERT_CHAIN_TOO_LONG', 'PATH_LENGTH_EXCEEDED',
]);
const CLIENT_CERT_ALERTS = new Set(['UNKNOWN_CA', 'BAD_CERTIFICATE', 'CERTIFICATE_REQUIRED', 'CERTIFICATE_UNKNOWN', 'CERTIFICATE_EXPIRED', 'CERTIFICATE_REVOKED', 'UNSUPPORTED_CERTIFICATE', 'ACCESS_DENIED', 'DECRYPT_ERROR']);

function acceptAnyName(): undefined {
  return undefined;
}

function namesOf(cert: tls.PeerCertificate | undefined): string {
  if (cert === undefined) return 'other names';
  if (cert.subjectaltname) return cert.subjectaltname;
  return cert.subject?.CN ? `CN=${String(cert.subject.CN)}` : 'no name';
}

function dn(name: tls.Certificate | undefined): string {
  if (name === undefined) return '?';
  const cn = name.CN;
  return cn === undefined ? Object.entries(name).map(([key, value]) => `${key}=${String(value)}`).join(', ') : `CN=${String(cn)}`;
}

/** libpq's rule for a private key file: not readable by group or others (by group only when root owns it). */
function checkKeyPermissions(path: string, fail: (message: string) => never): void {
  if (process.platform === 'win32') return;
  const stat = statSync(path);
  if (!stat.isFile()) fail(`private key file "${path}" is not a regular file.`);
  const uid = process.geteuid?.();
  if ((stat.uid === uid && (stat.mode & 0o077) !== 0) || (stat.uid === 0 && (stat.mode & 0o037) !== 0)) {
    fail(
      `private key file "${path}" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, ` +
        `or permissions u=rw,g=r (0640) or less if owned by root.`,
    );
  }
}

function readText(path: string, what: string, fail: (message: string, cause?: unknown) => never): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return fail(`could not read the ${what} file "${path}": ${messageOf(error)}.`, error);
  }
}

let systemCache: string[] | undefined;

/**
 * The system's trusted CAs, as OpenSSL finds them (libpq's `sslrootcert=system`): Node's own
 * reading of them where it has one (22.15+), else OpenSSL's default bundle file
 * (`SSL_CERT_FILE`, then where distributions keep it), else Node's bundled roots.
 */
function systemRoots(): string[] {
  if (systemCache !== undefined) return systemCache;
  const read = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  if (typeof read === 'function') return (systemCache = read('system'));
  for (const path of [process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem', '/etc/ssl/ca-bundle.pem']) {
    if (path && existsSync(path)) {
      try {
        return (systemCache = [readFileSync(path, 'utf8')]);
      } catch {
        // Unreadable: the next candidate.
      }
    }
  }
  return (systemCache = [...tls.rootCertificates]);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
