import { userInfo } from 'node:os';
import type { ConnectionParams, ConnectionSource, ResolvedConnection, SessionSettings } from '../driver/connection-params.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { checkConnectTimeoutSeconds } from '../manager/durations.js';
import { didYouMean } from '../util/nearest-name.js';
import { redactSecrets } from '../util/redact.js';
import { environmentEntries, environmentSettings } from './connstring/environment.js';
import { hostList } from './connstring/host-list.js';
import { checkKeyword, checkRefusedEnvironment } from './connstring/libpq-keywords.js';
import { passfilePath, passwordFromLines, readPassfile } from './connstring/passfile.js';
import { parsePostgresUrl, type ConnEntry } from './connstring/parse-url.js';
import { readService } from './connstring/service-file.js';
import { startupOptions } from './connstring/startup-options.js';
import { parseKeywordDsn } from './keyword-dsn.js';
import { DEFAULT_HOST_RECHECK_MILLIS, type PostgresConnectionParams, type PostgresHost, type PostgresTls, type SslMode, type TargetSessionAttrs } from './postgres-connection-params.js';
import { typeOidFor } from './type-oids.js';
import { inferPooler } from './neon-pooler.js';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];
const LOAD_BALANCE_HOSTS = ['disable', 'random'] as const;

/** A parameter's value and where it came from, for messages ("PGSSLMODE", "the service file"). */
interface Given {
  readonly value: string;
  readonly origin: string;
}

/**
 * Turns a config's connection source (URL, libpq keyword string or fields) into the params a
 * session is opened with, with libpq's meaning and precedence: the config's own fields, then
 * the connection string, then the service it names (`service`, `PGSERVICE`), then the
 * environment (`PGHOST`, `PGPORT`, `PGOPTIONS`, … 34.15), then the defaults; a password none
 * of them gives comes from the password file (`passfile`, `PGPASSFILE`, `~/.pgpass`). A libpq
 * parameter rxpg cannot honour is refused by name, an unknown one with the nearest name.
 * Errors never contain the password.
 */
export function resolvePostgresParams(
  source: ConnectionSource,
  settings: SessionSettings,
  conn: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConnection & { readonly params: PostgresConnectionParams } {
  checkRefusedEnvironment(env, conn);
  const given = new Map<string, Given>();
  if (source.connectionString !== undefined) {
    for (const [key, value] of parsePostgresUrl(source.connectionString, conn)) {
      given.set(checkKeyword(key, value, 'connectionString parameter', conn), { value, origin: 'the connectionString' });
    }
  } else if (source.dsn !== undefined) {
    for (const [key, value] of parseKeywordDsn(source.dsn, conn)) {
      given.set(checkKeyword(key, value, 'dsn keyword', conn), { value, origin: 'the dsn' });
    }
  }
  // The config's own fields beat the string (createConn refuses most combinations; sslmode may be both).
  for (const [field, keyword] of [['host', 'host'], ['hostaddr', 'hostaddr'], ['port', 'port'], ['user', 'user'], ['password', 'password'], ['database', 'dbname'], ['dbname', 'dbname'], ['sslmode', 'sslmode']] as const) {
    const value = source[field];
    if (value !== undefined) given.set(keyword, { value: String(value), origin: `the ${field} option` });
  }
  const fill = (entries: readonly ConnEntry[], origin: (key: string) => string): void => {
    for (const [key, value] of entries) if (!given.has(key)) given.set(key, { value, origin: origin(key) });
  };
  const service = given.get('service')?.value || env.PGSERVICE;
  if (service) fill(readService(service, env, conn), () => `service "${service}"`);
  fill(environmentEntries(env), (key) => `the environment (${envName(key)})`);

  const get = (key: string): string | undefined => given.get(key)?.value;
  const nonEmpty = (key: string): string | undefined => get(key) || undefined;
  const from = (key: string): string => given.get(key)?.origin ?? 'the defaults';
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const value = nonEmpty(key);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigurationError(
        `Connection '${conn}': ${key} '${value}' (from ${from(key)}) is not one of ${allowed.join(', ')}${didYouMean(value, allowed)}.`,
        { conn },
      );
    }
    return value as T;
  };
  const integer = (key: string): number | undefined => {
    const value = nonEmpty(key);
    if (value === undefined) return undefined;
    if (!/^\s*[+-]?\d+\s*$/.test(value)) {
      throw new ConfigurationError(`Connection '${conn}': ${key} must be an integer (from ${from(key)}), got '${value}'.`, { conn });
    }
    return Number(value);
  };

  let hosts: PostgresHost[];
  try {
    hosts = hostList(get('host'), get('hostaddr'), get('port'), conn);
  } catch (error) {
    // A URL whose password holds an unencoded '/' puts part of it where the port goes: show
    // the redacted string instead of the value.
    if (error instanceof ConfigurationError && source.connectionString !== undefined && from('port') === 'the connectionString' && /port/.test(error.message)) {
      throw new ConfigurationError(
        `Connection '${conn}': connectionString has a port that is not an integer from 1 to 65535: '${redactSecrets(source.connectionString)}'. ` +
          `Percent-encode special characters of the password ('/' as %2F, '@' as %40).`,
        { conn },
      );
    }
    throw error;
  }
  const user = nonEmpty('user') ?? userInfo().username;
  const database = nonEmpty('dbname') ?? user;
  const sslmode = oneOf('sslmode', SSL_MODES, 'prefer');
  const targetSessionAttrs = oneOf('target_session_attrs', TARGET_SESSION_ATTRS, 'any');
  const loadBalanceHosts = oneOf('load_balance_hosts', LOAD_BALANCE_HOSTS, 'disable');
  const clientEncoding = nonEmpty('client_encoding');
  if (clientEncoding !== undefined && !/^(utf-?8|unicode|auto)$/i.test(clientEncoding)) {
    throw new ConfigurationError(
      `Connection '${conn}': client_encoding '${clientEncoding}' (from ${from('client_encoding')}) is not supported: rxpg always reads and writes UTF8; remove it.`,
      { conn },
    );
  }

  // connect_timeout: an integer of seconds; 0 or less means none; 1 means 2 (libpq's minimum).
  let connectTimeoutSeconds = settings.explicit?.connectTimeoutSeconds;
  if (connectTimeoutSeconds === undefined) {
    const seconds = integer('connect_timeout');
    if (seconds !== undefined && seconds > 0) {
      connectTimeoutSeconds = checkConnectTimeoutSeconds(seconds === 1 ? 2 : seconds, 'connect_timeout', `Connection '${conn}': ${from('connect_timeout')}'s `, conn);
    }
  }
  const keepalives = integer('keepalives');
  const keepAlive = settings.explicit?.keepAlive ?? (keepalives !== undefined ? keepalives !== 0 : settings.keepAlive);
  const keepalivesIdle = integer('keepalives_idle');
  const keepAliveInitialDelayMillis = settings.explicit?.keepAliveInitialDelayMillis ?? (keepalivesIdle !== undefined && keepalivesIdle > 0 ? keepalivesIdle * 1000 : settings.keepAliveInitialDelayMillis);
  // Checked, but Node has no per-socket setting for them: the system's values apply.
  integer('keepalives_interval');
  integer('keepalives_count');

  // The password: given, else the password file's line for each host.
  const password = nonEmpty('password');
  let lines: string[] | undefined | null = null;
  for (const host of hosts) {
    let hostPassword = password;
    if (hostPassword === undefined) {
      lines ??= readPassfile(passfilePath(nonEmpty('passfile'), env));
      if (lines) hostPassword = passwordFromLines(lines, { host: host.host, port: host.port, database, user });
    }
    Object.defineProperty(host, 'password', { value: hostPassword, enumerable: false });
    Object.freeze(host);
  }

  // sslmode when some layer gave it, else what `ssl` or sslrootcert=system imply, else prefer (tlsFor).
  // The config's own `ssl` field beats an sslmode from the string or the environment (a field
  // beats the string); only the config's own `sslmode` field goes with it.
  const sslmodeGiven = nonEmpty('sslmode') !== undefined && (source.ssl === undefined || from('sslmode') === 'the sslmode option');
  const tls = tlsFor(source.ssl, sslmodeGiven ? sslmode : undefined, {
    sslrootcert: nonEmpty('sslrootcert'),
    sslcert: nonEmpty('sslcert'),
    sslkey: nonEmpty('sslkey'),
    sslpassword: nonEmpty('sslpassword'),
    sslcrl: nonEmpty('sslcrl'),
  }, conn);

  const settingsAtStartup: [string, string][] = environmentSettings(env);
  if (settings.defaultIsolation) settingsAtStartup.push(['default_transaction_isolation', settings.defaultIsolation]);
  const first = hosts[0];
  // Neon's pooled endpoint is a transaction pooler, unless the config said otherwise (neon-pooler.ts).
  const pooling = inferPooler(hosts, settings.pooler, settings.prepare, settings.explicit);
  const params: PostgresConnectionParams = {
    host: first.hostaddr ?? first.host,
    port: first.port,
    user,
    password: undefined,
    database,
    applicationName: settings.applicationName ?? nonEmpty('application_name') ?? nonEmpty('fallback_application_name') ?? settings.fallbackApplicationName,
    // libpq ignores sslmode on a unix socket.
    ssl: first.hostaddr === undefined && first.host.startsWith('/') ? false : sslFor(source.ssl, sslmode),
    keepAlive,
    keepAliveInitialDelayMillis,
    statementTimeoutMillis: settings.statementTimeoutMillis,
    defaultIsolation: settings.defaultIsolation,
    typeParsers: resolveTypeParsers(settings.typeParsers, conn),
    prepare: pooling.prepare,
    pooler: pooling.pooler,
    ...(pooling.inferredFrom === undefined ? {} : { poolerInferredFrom: pooling.inferredFrom }),
    hosts: Object.freeze(hosts),
    tls,
    options: startupOptions(get('options'), settingsAtStartup),
    targetSessionAttrs,
    loadBalanceHosts,
    connectTimeoutSeconds,
    hostRecheckMillis: settings.hostRecheckMillis ?? DEFAULT_HOST_RECHECK_MILLIS,
  };
  // Non-enumerable: JSON.stringify, util.inspect and spreading never see it.
  // The password some layer gave (all hosts); each host keeps its own password-file line besides.
  Object.defineProperty(params, 'password', { value: password, enumerable: false });
  // Each host may take its own connect_timeout, and prefer-standby may try each twice.
  return { params: Object.freeze(params), connectTimeoutSeconds, connectAttempts: hosts.length * (targetSessionAttrs === 'prefer-standby' ? 2 : 1) };
}

function envName(key: string): string {
  return (
    {
      host: 'PGHOST', hostaddr: 'PGHOSTADDR', port: 'PGPORT', dbname: 'PGDATABASE', user: 'PGUSER', password: 'PGPASSWORD', passfile: 'PGPASSFILE',
      service: 'PGSERVICE', options: 'PGOPTIONS', application_name: 'PGAPPNAME', connect_timeout: 'PGCONNECT_TIMEOUT', client_encoding: 'PGCLIENTENCODING',
      sslmode: 'PGSSLMODE', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', sslrootcert: 'PGSSLROOTCERT', sslcrl: 'PGSSLCRL',
      target_session_attrs: 'PGTARGETSESSIONATTRS', load_balance_hosts: 'PGLOADBALANCEHOSTS',
    } as Record<string, string>
  )[key] ?? key;
}

function sslFor(ssl: ConnectionSource['ssl'], mode: SslMode): ConnectionParams['ssl'] {
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
      // disable, allow, prefer: until the TLS connect path reads params.tls, no fallback between TLS and plain text.
      return false;
  }
}

/**
 * libpq's TLS parameters of a config (the driver's `tls-options.ts` reads the files): `sslmode`
 * defaults to `prefer` as in libpq, to `verify-full` with `sslrootcert=system` (which refuses a
 * weaker mode), and to what Node's options say when the config gave `ssl` alone (`true` or
 * options: verify-full, or require when they turn `rejectUnauthorized` off; `false`: disable).
 */
function tlsFor(ssl: ConnectionSource['ssl'], sslmode: SslMode | undefined, fields: Readonly<Record<'sslrootcert' | 'sslcert' | 'sslkey' | 'sslpassword' | 'sslcrl', string | undefined>>, conn: string): PostgresTls {
  const rootCert = fields.sslrootcert;
  const node = ssl === undefined || ssl === false ? undefined : ssl === true ? {} : Object.freeze({ ...ssl });
  const mode: SslMode =
    sslmode ?? (ssl === false ? 'disable' : node !== undefined ? (node.rejectUnauthorized === false ? 'require' : 'verify-full') : rootCert === 'system' ? 'verify-full' : 'prefer');
  if (rootCert === 'system' && mode !== 'verify-full') {
    throw new ConfigurationError(`Connection '${conn}': weak sslmode '${mode}' may not be used with sslrootcert=system (use verify-full).`, { conn });
  }
  const tls: PostgresTls = { mode, rootCert, cert: fields.sslcert, key: fields.sslkey, keyPassword: undefined, crl: fields.sslcrl, node };
  // Non-enumerable, as the password is.
  Object.defineProperty(tls, 'keyPassword', { value: fields.sslpassword, enumerable: false });
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
