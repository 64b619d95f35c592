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
  const sslmode = str(fields.sslmode);
  const ssl: ConnectionParams['ssl'] =
    source.ssl !== undefined
      ? typeof source.ssl === 'boolean'
        ? source.ssl
        : Object.freeze({ ...source.ssl })
      : sslmode === 'require' || sslmode === 'required'
        ? { rejectUnauthorized: false }
        : sslmode === 'verify-full' || sslmode === 'verify_identity'
          ? {}
          : false;
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
