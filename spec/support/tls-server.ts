// Certificates a TLS test makes for itself (a CA, a second CA nobody trusts, a server certificate
// and client certificates signed by the CA) and a PostgreSQL of the test's own that serves TLS
// with them. Made with `selfsigned` (a dev dependency), so it needs no openssl binary.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { startLocalPostgres, type LocalPostgres } from '../../scripts/local-postgres.js';

/** A certificate and its key, in PEM. */
export interface Pem {
  readonly cert: string;
  readonly key: string;
}

/** Everything {@link makeTestCertificates} made. */
export interface TestCertificates {
  /** The CA the server trusts for client certificates and that signed the server's certificate. */
  readonly ca: Pem;
  /** A CA that signed nothing the server uses: an unknown CA to a client that trusts only it. */
  readonly otherCa: Pem;
  /** The server's certificate, for `localhost` only (no IP address in it). */
  readonly server: Pem;
  /** Client certificates (CN = role name) signed by `ca`, key in the clear. */
  readonly client: (role: string) => Promise<Pem>;
  /** A client certificate whose key is encrypted (PKCS#8, AES-256-CBC) with `passphrase`. */
  readonly encryptedClient: (role: string, passphrase: string) => Promise<Pem>;
  /** A client certificate signed by `otherCa`, which the server does not trust. */
  readonly strangerClient: (role: string) => Promise<Pem>;
}

const LEAF = { keySize: 2048, algorithm: 'sha256', notAfterDate: new Date(Date.now() + 2 * 86_400_000) } as const;

async function caNamed(name: string): Promise<Pem> {
  const made = await selfsigned.generate([{ name: 'commonName', value: name }], {
    ...LEAF,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: made.cert, key: made.private };
}

async function leaf(name: string, signer: Pem, kind: 'server' | 'client', passphrase?: string): Promise<Pem> {
  const made = await selfsigned.generate([{ name: 'commonName', value: name }], {
    ...LEAF,
    ca: { key: signer.key, cert: signer.cert },
    passphrase,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      kind === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
      ...(kind === 'server' ? [{ name: 'subjectAltName' as const, altNames: [{ type: 2 as const, value: name }] }] : []),
    ],
  });
  return { cert: made.cert, key: made.private };
}

/** A fresh CA, a second CA, and a server certificate for `localhost` signed by the first. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const [ca, otherCa] = await Promise.all([caNamed('rxpg test CA'), caNamed('rxpg unknown CA')]);
  const server = await leaf('localhost', ca, 'server');
  return {
    ca,
    otherCa,
    server,
    client: (role) => leaf(role, ca, 'client'),
    encryptedClient: (role, passphrase) => leaf(role, ca, 'client', passphrase),
    strangerClient: (role) => leaf(role, otherCa, 'client'),
  };
}

/**
 * Starts a PostgreSQL of the test's own with `ssl=on`, the given server certificate and CA (for
 * client certificates), and `hba` as its whole pg_hba.conf.
 */
export function startTlsPostgres(certificates: TestCertificates, options: { password: string; hba: readonly string[] }): Promise<LocalPostgres> {
  return startLocalPostgres({
    password: options.password,
    files: {
      'server.crt': certificates.server.cert,
      'server.key': certificates.server.key,
      'ca.crt': certificates.ca.cert,
      'pg_hba.conf': `${options.hba.join('\n')}\n`,
    },
    settings: { ssl: 'on', ssl_cert_file: 'server.crt', ssl_key_file: 'server.key', ssl_ca_file: 'ca.crt' },
  });
}

/** A temporary folder for PEM files (keys written 0600, as libpq demands). */
export class PemFolder {
  readonly path = mkdtempSync(join(tmpdir(), 'rxpg-tls-'));

  /** Writes `content` to `name` (folders created) and returns the file's path. */
  write(name: string, content: string, mode = 0o600): string {
    const path = join(this.path, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
