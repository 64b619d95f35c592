import type { ConnectionParams, ConnectionSource, ResolvedConnection, SessionSettings } from '../driver/connection-params.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { didYouMean } from '../util/nearest-name.js';
import { checkConnectTimeoutSeconds, checkMillis, shownValue } from './durations.js';
import { CONN_OPTION_KEYS, CONNECTION_FIELD_KEYS, type ConnOptions, type IsolationLevel, type Pooler } from './conn-options.js';

/** A validated, frozen connection config: what `createConn` registered. */
export interface ConnConfig {
  readonly name: string;
  readonly params: ConnectionParams;
  /** Where the params came from, for `copyDsn`. */
  readonly source: ConnectionSource;
  readonly isolationLevel: IsolationLevel;
  readonly initStatement: string | undefined;
  readonly connectTimeoutMillis: number;
  readonly poolSize: number;
  readonly maxWaiting: number;
  /** Statements that may share one busy session's pipeline (`pipeline`); 1: off. */
  readonly pipelineDepth: number;
  readonly acquireTimeoutMillis: number;
  readonly idleTimeoutMillis: number;
  readonly maxLifetimeMillis: number;
}

/** How a backend reads a config's connection source: its driver's `resolveConnection`. */
export type ResolveConnection = (source: ConnectionSource, settings: SessionSettings, conn: string) => ResolvedConnection;

const POOLERS: readonly Pooler[] = ['none', 'session', 'transaction'];

export const ISOLATION_LEVELS: readonly IsolationLevel[] = ['autocommit', 'read_committed', 'repeatable_read', 'serializable'];

/**
 * Validates `createConn` options and resolves them into a {@link ConnConfig}. Every mistake is a
 * ConfigurationError thrown at once, saying how to fix it; none ever contains the password.
 */
export function resolveConnConfig(
  options: ConnOptions,
  lookup: (name: string) => ConnConfig,
  resolveConnection: ResolveConnection,
): ConnConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('createConn expects an options object, e.g. { connectionString: "postgres://…" }.');
  }
  const name = options.name ?? 'default';
  if (typeof name !== 'string' || name === '') {
    throw new ConfigurationError('createConn: name must be a non-empty string.');
  }
  for (const key of Object.keys(options)) {
    if (!(CONN_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ConfigurationError(
        `Connection '${name}': unknown option '${key}'${didYouMean(key, CONN_OPTION_KEYS)}. Known options: ${CONN_OPTION_KEYS.join(', ')}.`,
        { conn: name },
      );
    }
  }
  const given = (key: keyof ConnOptions): boolean => options[key] !== undefined;
  const fields = CONNECTION_FIELD_KEYS.filter((key) => given(key) && key !== 'sslmode' && key !== 'ssl');
  const sources = (['connectionString', 'dsn', 'copyDsn'] as const).filter(given);
  if (sources.length > 1) {
    throw new ConfigurationError(`Connection '${name}': give only one of ${sources.join(', ')}.`, { conn: name });
  }
  if ((given('connectionString') || given('dsn')) && fields.length > 0) {
    throw new ConfigurationError(
      `Connection '${name}': both ${given('dsn') ? 'dsn' : 'connectionString'} and ${fields.join(', ')} were given; ` +
        `put everything in the ${given('dsn') ? 'dsn' : 'connectionString'}, or use only fields.`,
      { conn: name },
    );
  }
  if (typeof options.ssl === 'boolean' && given('sslmode')) {
    // TLS options (ssl: { ca, … }) go with an sslmode; true or false is an sslmode of its own.
    throw new ConfigurationError(`Connection '${name}': give either ssl: ${String(options.ssl)} or sslmode, not both (ssl may be TLS options alongside sslmode).`, { conn: name });
  }
  if (given('database') && given('dbname')) {
    throw new ConfigurationError(`Connection '${name}': database and dbname are the same option; give one.`, { conn: name });
  }
  if (given('host') && given('hostaddr')) {
    throw new ConfigurationError(`Connection '${name}': host and hostaddr both given; give one.`, { conn: name });
  }
  const isolationLevel = options.isolationLevel ?? 'autocommit';
  if (!ISOLATION_LEVELS.includes(isolationLevel)) {
    throw new ConfigurationError(
      `Connection '${name}': isolationLevel '${String(isolationLevel)}' is not one of ${ISOLATION_LEVELS.join(', ')}` +
        `${didYouMean(String(isolationLevel), ISOLATION_LEVELS)}.`,
      { conn: name },
    );
  }
  for (const key of ['connectionString', 'dsn', 'copyDsn', 'host', 'hostaddr', 'user', 'password', 'database', 'dbname', 'initStatement', 'applicationName'] as const) {
    if (given(key) && typeof options[key] !== 'string') {
      throw new ConfigurationError(`Connection '${name}': ${key} must be a string.`, { conn: name });
    }
  }
  const number = (key: keyof ConnOptions, fallback: number, check: (value: number) => boolean, rule: string): number => {
    const value = options[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
      throw new ConfigurationError(`Connection '${name}': ${key} must be ${rule}, got ${shownValue(options[key])}.`, { conn: name });
    }
    return value;
  };
  const positiveInt = (value: number): boolean => Number.isInteger(value) && value > 0;
  const nonNegative = (value: number): boolean => value >= 0;
  if (given('port')) number('port', 0, (value) => Number.isInteger(value) && value > 0 && value <= 65535, 'an integer from 1 to 65535');
  const poolSize = number('poolSize', 10, positiveInt, 'a positive integer');
  const maxWaiting = number('maxWaiting', 10_000, nonNegative, 'a number of requests ≥ 0');
  const pipelineDepth = number('pipeline', 1, positiveInt, 'a positive integer (1: no pipelining)');
  // Durations: whole milliseconds a timer (and the server's statement_timeout) can keep.
  const where = `Connection '${name}': `;
  const millis = (key: keyof ConnOptions, fallback: number, min: 0 | 1, zero?: string): number =>
    checkMillis(options[key] ?? fallback, key, where, { min, zero, conn: name });
  const acquireTimeoutMillis = millis('acquireTimeout', 30_000, 1);
  const idleTimeoutMillis = millis('idleTimeout', 30_000, 0, 'keeps idle sessions');
  const maxLifetimeMillis = millis('maxLifetime', 0, 0, 'for no limit');
  const statementTimeoutMillis = millis('statementTimeout', 0, 0, 'for none');
  const keepAliveInitialDelayMillis = millis('keepAliveInitialDelay', 10_000, 0);
  const hostRecheckMillis = millis('hostRecheck', 10_000, 0, 'remembers nothing');
  if (given('connectTimeout')) checkConnectTimeoutSeconds(options.connectTimeout, 'connectTimeout', where, name);
  if (given('keepAlive') && typeof options.keepAlive !== 'boolean') {
    throw new ConfigurationError(`Connection '${name}': keepAlive must be true or false.`, { conn: name });
  }
  if (given('prepare') && typeof options.prepare !== 'boolean') {
    throw new ConfigurationError(`Connection '${name}': prepare must be true or false, got ${shownValue(options.prepare)}.`, { conn: name });
  }
  if (given('pooler') && !POOLERS.includes(options.pooler as Pooler)) {
    throw new ConfigurationError(
      `Connection '${name}': pooler must be one of ${POOLERS.map((value) => `'${value}'`).join(', ')}, got ${shownValue(options.pooler)}` +
        `${didYouMean(String(options.pooler), POOLERS)}.`,
      { conn: name },
    );
  }
  if (given('typeParsers') && (typeof options.typeParsers !== 'object' || options.typeParsers === null)) {
    throw new ConfigurationError(`Connection '${name}': typeParsers must be an object such as { int8: BigInt }.`, { conn: name });
  }

  let source: ConnectionSource;
  // A pooler is a property of the address: copied with it, unless the address is overridden.
  let pooler: Pooler = options.pooler ?? 'none';
  let poolerSaid: Pooler | undefined = options.pooler;
  if (options.copyDsn !== undefined) {
    const copiedConfig = lookup(options.copyDsn);
    const copied = copiedConfig.source;
    if (!given('pooler') && !(['host', 'hostaddr', 'port'] as const).some(given)) {
      pooler = copiedConfig.params.pooler ?? 'none';
      // A pooler the copied config was given beats one a driver would infer from the address.
      if (pooler !== 'none') poolerSaid = pooler;
    }
    const overrides = Object.fromEntries(CONNECTION_FIELD_KEYS.filter(given).map((key) => [key, options[key]]));
    if ((copied.connectionString !== undefined || copied.dsn !== undefined) && fields.length > 0) {
      throw new ConfigurationError(
        `Connection '${name}': copyDsn '${options.copyDsn}' was defined by a connection string, so ${fields.join(', ')} cannot override it.`,
        { conn: name },
      );
    }
    // The password is non-enumerable, so spreading would drop it: copy it by name.
    source = { ...copied, password: copied.password, ...overrides };
  } else {
    source = Object.fromEntries(
      (['connectionString', 'dsn', ...CONNECTION_FIELD_KEYS] as const).filter(given).map((key) => [key, options[key]]),
    ) as ConnectionSource;
  }
  if (source.password !== undefined) {
    const { password } = source;
    source = { ...source };
    Object.defineProperty(source, 'password', { value: password, enumerable: false });
  }
  Object.freeze(source);

  const resolved = resolveConnection(
    source,
    {
      applicationName: options.applicationName,
      fallbackApplicationName: 'rxpg',
      keepAlive: options.keepAlive ?? true,
      keepAliveInitialDelayMillis,
      statementTimeoutMillis,
      defaultIsolation: isolationLevel === 'autocommit' ? undefined : (isolationLevel.replace('_', ' ') as ConnectionParams['defaultIsolation']),
      typeParsers: options.typeParsers,
      prepare: options.prepare ?? pooler !== 'transaction',
      pooler,
      hostRecheckMillis,
      explicit: {
        keepAlive: options.keepAlive,
        keepAliveInitialDelayMillis: given('keepAliveInitialDelay') ? keepAliveInitialDelayMillis : undefined,
        connectTimeoutSeconds: options.connectTimeout,
        pooler: poolerSaid,
        prepare: options.prepare,
      },
    },
    name,
  );
  const { params, connectTimeoutSeconds } = resolved;
  if (options.connectTimeout === undefined && connectTimeoutSeconds !== undefined) {
    checkConnectTimeoutSeconds(connectTimeoutSeconds, 'connect_timeout', `${where}the connection string's `, name);
  }
  // The timeout is per attempt, as libpq's connect_timeout is per host: a session of a host list
  // may try each host (twice with prefer-standby) before it opens.
  const connectTimeoutMillis = Math.min(2 ** 31 - 1, Math.max(1, Math.round((options.connectTimeout ?? connectTimeoutSeconds ?? 30) * 1000 * (resolved.connectAttempts ?? 1))));
  const config = {
    name,
    params,
    isolationLevel,
    initStatement: options.initStatement,
    connectTimeoutMillis,
    poolSize,
    maxWaiting,
    pipelineDepth,
    acquireTimeoutMillis,
    idleTimeoutMillis,
    maxLifetimeMillis,
  } as ConnConfig;
  // Non-enumerable: a connection string holds the password.
  Object.defineProperty(config, 'source', { value: source, enumerable: false });
  return Object.freeze(config);
}
