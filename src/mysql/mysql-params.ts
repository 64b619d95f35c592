import { userInfo } from 'node:os';
import type { ConnectionParams, ConnectionSource, ResolvedConnection, SessionSettings } from '../driver/connection-params.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { redactSecrets } from '../util/redact.js';

/**
 * Connection params for MySQL/MariaDB from a config's source: a `mysql://` (or `mariadb://`) URL
 * or fields. libpq's keyword `dsn` has no MySQL form. Errors never contain the password.
 */
export function resolveMysqlParams(source: ConnectionSource, settings: SessionSettings, conn: string): ResolvedConnection {
  if (source.dsn !== undefined) {
    throw new ConfigurationError(`Connection '${conn}': dsn is libpq's format; for MySQL give a connectionString (mysql://user@host:3306/db) or fields.`, { conn });
  }
  if (settings.typeParsers !== undefined && Object.keys(settings.typeParsers).length > 0) {
    throw new ConfigurationError(`Connection '${conn}': typeParsers is not supported for MySQL; mysql2 converts values itself.`, { conn });
  }
  if (!settings.prepare || settings.pooler !== 'none') {
    throw new ConfigurationError(`Connection '${conn}': ${settings.pooler !== 'none' ? 'pooler' : 'prepare'} is a Postgres option (transaction poolers); MyManager has no use for it.`, { conn });
  }
  const fields: Record<string, unknown> = { ...source, password: source.password };
  if (source.connectionString !== undefined) {
    let url: URL;
    try {
      url = new URL(source.connectionString);
    } catch {
      throw new ConfigurationError(`Connection '${conn}': connectionString is not a valid URL: '${redactSecrets(source.connectionString)}'.`, { conn });
    }
    if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
      throw new ConfigurationError(`Connection '${conn}': a MySQL connectionString starts with mysql:// or mariadb://, got '${url.protocol}//'.`, { conn });
    }
    if (url.hostname) fields.host = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, ''));
    if (url.port) fields.port = Number(url.port);
    if (url.username) fields.user = decodeURIComponent(url.username);
    if (url.password) fields.password = decodeURIComponent(url.password);
    const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (path) fields.database = path;
    const sslmode = url.searchParams.get('sslmode') ?? url.searchParams.get('ssl-mode');
    if (sslmode) fields.sslmode = sslmode.toLowerCase();
  }
  const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  const user = str(fields.user) ?? process.env.MYSQL_USER ?? userInfo().username;
  const ssl = sslFor(source.ssl, str(fields.sslmode), conn);
  const params: ConnectionParams = {
    host: str(fields.hostaddr) ?? str(fields.host) ?? process.env.MYSQL_HOST ?? 'localhost',
    port: (fields.port as number | undefined) ?? 3306,
    user,
    password: undefined,
    database: str(fields.database) ?? str(fields.dbname) ?? '',
    applicationName: settings.applicationName ?? settings.fallbackApplicationName,
    ssl,
    keepAlive: settings.keepAlive,
    keepAliveInitialDelayMillis: settings.keepAliveInitialDelayMillis,
    statementTimeoutMillis: settings.statementTimeoutMillis,
    defaultIsolation: settings.defaultIsolation,
    typeParsers: new Map(),
  };
  Object.defineProperty(params, 'password', { value: str(fields.password) ?? process.env.MYSQL_PWD, enumerable: false });
  return { params: Object.freeze(params), connectTimeoutSeconds: undefined };
}

/** MySQL's ssl-mode names and libpq's, lower-cased, and what each asks mysql2 for. */
const SSL_MODES: Readonly<Record<string, 'none' | 'require' | 'verify-ca' | 'verify-full'>> = {
  disable: 'none', disabled: 'none',
  // mysql2 cannot fall back between TLS and plain text: these connect in plain text.
  allow: 'none', prefer: 'none', preferred: 'none',
  require: 'require', required: 'require',
  'verify-ca': 'verify-ca', verify_ca: 'verify-ca',
  'verify-full': 'verify-full', verify_identity: 'verify-full',
};

/**
 * TLS options for mysql2 from `sslmode` (libpq's or MySQL's names) and the config's `ssl`, which
 * overrides what the mode says. `verify-ca` checks the chain and not the host name.
 */
function sslFor(given: ConnectionSource['ssl'], sslmode: string | undefined, conn: string): ConnectionParams['ssl'] {
  if (typeof given === 'boolean') return given;
  const mode = sslmode === undefined ? undefined : SSL_MODES[sslmode.toLowerCase()];
  if (sslmode !== undefined && mode === undefined) {
    throw new ConfigurationError(`Connection '${conn}': sslmode '${sslmode}' is not one of ${Object.keys(SSL_MODES).join(', ')}.`, { conn });
  }
  const fromMode: Record<string, unknown> | false =
    mode === 'require' ? { rejectUnauthorized: false } : mode === 'verify-ca' ? { checkServerIdentity: acceptAnyName } : mode === 'verify-full' ? {} : false;
  if (given === undefined) return fromMode;
  return Object.freeze({ ...(fromMode === false ? {} : fromMode), ...given });
}

function acceptAnyName(): undefined {
  return undefined;
}
