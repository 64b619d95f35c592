import { userInfo } from 'node:os';
import type { ConnectionParams, ConnectionSource, ResolvedConnection, SessionSettings } from '../driver/connection-params.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { SslMode } from '../manager/conn-options.js';
import { didYouMean } from '../util/nearest-name.js';
import { redactSecrets } from '../util/redact.js';
import { parseKeywordDsn } from './keyword-dsn.js';
import type { PostgresTls } from './postgres-connection-params.js';
import { typeOidFor } from './type-oids.js';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const URL_KEYS = [
  'host', 'hostaddr', 'port', 'user', 'password', 'dbname', 'sslmode', 'application_name', 'fallback_application_name', 'connect_timeout',
  'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'sslcrl',
];

/**
 * Turns a config's connection source (URL, libpq keyword string or fields) into the params a
 * session is opened with, applying libpq's environment defaults (`PGHOST`, `PGPORT`, `PGUSER`,
 * `PGDATABASE`, `PGPASSWORD`, `PGAPPNAME`) with libpq's precedence: the config's own field, then
 * the connection string, then the environment, then the default. Errors never contain the
 * password.
 */
export function resolvePostgresParams(source: ConnectionSource, settings: SessionSettings, conn: string): ResolvedConnection {
  // The password is non-enumerable on the source, so it is copied by name.
  const fields = { ...source, password: source.password } as Record<string, unknown>;
  let connectTimeoutSeconds: number | undefined;
  let fromTextApplicationName: string | undefined;
  let fallbackApplicationName: string | undefined;
  const fromText = source.connectionString !== undefined
    ? parseUrl(source.connectionString, conn)
    : source.dsn !== undefined
      ? parseKeywordDsn(source.dsn, conn, URL_KEYS)
      : undefined;
  if (fromText) {
    for (const [key, value] of Object.entries(fromText)) {
      if (key === 'connect_timeout') connectTimeoutSeconds = parseNumber(value, 'connect_timeout', conn);
      else if (key === 'application_name') fromTextApplicationName = value;
      else if (key === 'fallback_application_name') fallbackApplicationName = value;
      else if (key === 'dbname') fields.database = value;
      else if (key === 'port') fields.port = parseNumber(value, 'port', conn);
      else fields[key] = value;
    }
  }
  const env = process.env;
  const user = str(fields.user) ?? env.PGUSER ?? userInfo().username;
  const port = (fields.port as number | undefined) ?? (env.PGPORT ? Number(env.PGPORT) : 5432);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ConfigurationError(`Connection '${conn}': port must be an integer from 1 to 65535, got ${String(fields.port)}.`, { conn });
  }
  const sslmode = str(fields.sslmode) as SslMode | undefined;
  if (sslmode !== undefined && !SSL_MODES.includes(sslmode)) {
    throw new ConfigurationError(
      `Connection '${conn}': sslmode '${sslmode}' is not one of ${SSL_MODES.join(', ')}${didYouMean(sslmode, SSL_MODES)}.`,
      { conn },
    );
  }
  const params: ConnectionParams & { readonly tls: PostgresTls } = {
    host: str(fields.hostaddr) ?? str(fields.host) ?? env.PGHOST ?? 'localhost',
    port,
    user,
    password: undefined,
    database: str(fields.database) ?? str(fields.dbname) ?? env.PGDATABASE ?? user,
    applicationName:
      settings.applicationName ?? fromTextApplicationName ?? env.PGAPPNAME ?? fallbackApplicationName ?? settings.fallbackApplicationName,
    ssl: sslFor(source.ssl, sslmode),
    tls: tlsFor(source.ssl, sslmode, fields, conn),
    keepAlive: settings.keepAlive,
    keepAliveInitialDelayMillis: settings.keepAliveInitialDelayMillis,
    statementTimeoutMillis: settings.statementTimeoutMillis,
    defaultIsolation: settings.defaultIsolation,
    typeParsers: resolveTypeParsers(settings.typeParsers, conn),
  };
  // Non-enumerable: JSON.stringify, util.inspect and spreading never see it.
  Object.defineProperty(params, 'password', { value: str(fields.password) ?? env.PGPASSWORD, enumerable: false });
  return { params: Object.freeze(params), connectTimeoutSeconds };
}

function parseUrl(text: string, conn: string): Record<string, string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(
      `Connection '${conn}': connectionString is not a valid URL: '${redactSecrets(text)}'. ` +
        `Write it as postgres://user:password@host:5432/database, percent-encoding special characters.`,
      { conn },
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigurationError(
      `Connection '${conn}': connectionString must start with postgres:// or postgresql://, got '${url.protocol}//'.`,
      { conn },
    );
  }
  const out: Record<string, string> = {};
  if (url.hostname) out.host = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, ''));
  if (url.port) out.port = url.port;
  if (url.username) out.user = decodeURIComponent(url.username);
  if (url.password) out.password = decodeURIComponent(url.password);
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (path) out.dbname = path;
  for (const [key, value] of url.searchParams) {
    const canonical = key === 'database' ? 'dbname' : key;
    if (!URL_KEYS.includes(canonical)) {
      throw new ConfigurationError(
        `Connection '${conn}': connectionString parameter '${key}' is not supported${didYouMean(key, URL_KEYS)}; ` +
          `supported: ${URL_KEYS.filter((k) => k !== 'password').join(', ')}.`,
        { conn },
      );
    }
    out[canonical] = value;
  }
  return out;
}

function sslFor(ssl: ConnectionSource['ssl'], mode: SslMode | undefined): ConnectionParams['ssl'] {
  if (ssl !== undefined) return typeof ssl === 'boolean' ? ssl : Object.freeze({ ...ssl });
  switch (mode) {
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // Verify the chain but not the host name, as libpq does.
      return { checkServerIdentity: () => undefined };
    case 'verify-full':
      return {};
    default:
      // disable, allow, prefer: what pg's own ssl option would be; the driver connects by `tls`.
      return false;
  }
}

/**
 * libpq's TLS parameters of a config (the driver's `tls-options.ts` reads the files): `sslmode`
 * defaults to `prefer` as in libpq, to `verify-full` with `sslrootcert=system` (which refuses a
 * weaker mode), and to what Node's options say when the config gave `ssl` alone (`true` or
 * options: verify-full, or require when they turn `rejectUnauthorized` off; `false`: disable).
 */
function tlsFor(ssl: ConnectionSource['ssl'], sslmode: SslMode | undefined, fields: Record<string, unknown>, conn: string): PostgresTls {
  const rootCert = str(fields.sslrootcert);
  const node = ssl === undefined || ssl === false ? undefined : ssl === true ? {} : Object.freeze({ ...ssl });
  const mode: SslMode =
    sslmode ?? (ssl === false ? 'disable' : node !== undefined ? (node.rejectUnauthorized === false ? 'require' : 'verify-full') : rootCert === 'system' ? 'verify-full' : 'prefer');
  if (rootCert === 'system' && mode !== 'verify-full') {
    throw new ConfigurationError(`Connection '${conn}': weak sslmode '${mode}' may not be used with sslrootcert=system (use verify-full).`, { conn });
  }
  const tls: PostgresTls = { mode, rootCert, cert: str(fields.sslcert), key: str(fields.sslkey), keyPassword: undefined, crl: str(fields.sslcrl), node };
  // Non-enumerable, as the password is.
  Object.defineProperty(tls, 'keyPassword', { value: str(fields.sslpassword), enumerable: false });
  return Object.freeze(tls);
}

function resolveTypeParsers(parsers: SessionSettings['typeParsers'], conn: string): ReadonlyMap<number, (text: string) => unknown> {
  const map = new Map<number, (text: string) => unknown>();
  for (const [type, parser] of Object.entries(parsers ?? {})) {
    if (typeof parser !== 'function') {
      throw new ConfigurationError(`Connection '${conn}': typeParsers.${type} must be a function (text: string) => value.`, { conn });
    }
    map.set(typeOidFor(type, conn), parser);
  }
  return map;
}

function parseNumber(value: string, key: string, conn: string): number {
  const number = Number(value);
  if (!Number.isFinite(number)) {
    throw new ConfigurationError(`Connection '${conn}': ${key} must be a number, got '${value}'.`, { conn });
  }
  return number;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
