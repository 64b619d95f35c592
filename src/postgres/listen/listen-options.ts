import { ConfigurationError } from '../../errors/configuration-error.js';
import type { ConnOptions } from '../../manager/conn-options.js';
import { didYouMean } from '../../util/nearest-name.js';
import { checkChannel } from './quote-channel.js';

/** The connection options that mean something for a single, unpooled listen session. */
export type ListenConnectionOptions = Pick<
  ConnOptions,
  | 'connectionString' | 'dsn' | 'copyDsn' | 'host' | 'hostaddr' | 'port' | 'user' | 'password' | 'database' | 'dbname'
  | 'sslmode' | 'ssl' | 'initStatement' | 'connectTimeout' | 'applicationName' | 'keepAlive' | 'keepAliveInitialDelay' | 'pooler'
>;

/**
 * Options of {@link PgManager.createConnListen}: where to connect (as for `createConn`, or
 * `copyDsn` of a registered config) plus how the session listens and heals.
 */
export interface ListenConnOptions extends ListenConnectionOptions {
  /** Name to register under; `listen` when omitted. */
  readonly name?: string;
  /** Channels LISTENed as soon as the session opens (and again after every reconnect). */
  readonly channel?: string | readonly string[];
  /** Milliseconds between round trips that prove the session alive. Default 10000; 0 turns them off. */
  readonly healthCheckInterval?: number;
  /** Milliseconds a health round trip may take before the session is declared dead. Default 5000. */
  readonly healthCheckTimeout?: number;
  /** First reconnect delay in milliseconds; it doubles per attempt, with jitter. Default 100. */
  readonly reconnectDelay?: number;
  /** Cap of the reconnect delay. Default 10000. */
  readonly maxReconnectDelay?: number;
  /**
   * Reconnect attempts before giving up: every subscriber and `waitForNotify` is errored, and
   * the next subscriber starts over. Default Infinity: a transient fault (server down, too many
   * connections) is retried until it passes, each attempt an `error` event. Faults no retry can
   * fix (wrong password, no such database, …) stop at once whatever this says.
   */
  readonly maxReconnectAttempts?: number;
  /** Spread reconnect delays by ±50 % so many clients do not reconnect in step. Default true. */
  readonly reconnectJitter?: boolean;
}

/** Validated listen settings. */
export interface ListenSettings {
  readonly channels: readonly string[];
  readonly healthCheckIntervalMillis: number;
  readonly healthCheckTimeoutMillis: number;
  readonly reconnectDelayMillis: number;
  readonly maxReconnectDelayMillis: number;
  readonly maxReconnectAttempts: number;
  readonly reconnectJitter: boolean;
}

const LISTEN_KEYS = ['channel', 'healthCheckInterval', 'healthCheckTimeout', 'reconnectDelay', 'maxReconnectDelay', 'maxReconnectAttempts', 'reconnectJitter'] as const;
const CONNECTION_KEYS = [
  'name', 'connectionString', 'dsn', 'copyDsn', 'host', 'hostaddr', 'port', 'user', 'password', 'database', 'dbname', 'sslmode', 'ssl',
  'initStatement', 'connectTimeout', 'applicationName', 'keepAlive', 'keepAliveInitialDelay', 'pooler',
] as const;

/** Splits listen options into connection options (for `createConn`'s validation) and settings. */
export function splitListenOptions(options: ListenConnOptions): { connection: ConnOptions; settings: ListenSettings } {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError("createConnListen expects an options object, e.g. { name: 'listenconn', channel: 'CHAT', copyDsn: 'default' }.");
  }
  const name = options.name ?? 'listen';
  const known: readonly string[] = [...CONNECTION_KEYS, ...LISTEN_KEYS];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ConfigurationError(
        `Listen connection '${name}': option '${key}' ${
          ['poolSize', 'maxWaiting', 'acquireTimeout', 'idleTimeout', 'maxLifetime', 'isolationLevel', 'statementTimeout'].includes(key)
            ? 'has no meaning for a listen connection (one session, no pool, no transactions)'
            : `is unknown${didYouMean(key, known)}`
        }. Known options: ${known.join(', ')}.`,
        { conn: name },
      );
    }
  }
  const channels = options.channel === undefined ? [] : typeof options.channel === 'string' ? [options.channel] : [...options.channel];
  channels.forEach((channel) => checkChannel(channel));
  const number = (key: Exclude<(typeof LISTEN_KEYS)[number], 'reconnectJitter'>, fallback: number, ok: (value: number) => boolean, rule: string): number => {
    const value = (options as Record<string, unknown>)[key] ?? fallback;
    if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) {
      throw new ConfigurationError(`Listen connection '${name}': ${key} must be ${rule}, got ${JSON.stringify(value)}.`, { conn: name });
    }
    return value;
  };
  const settings: ListenSettings = {
    channels: [...new Set(channels)],
    healthCheckIntervalMillis: number('healthCheckInterval', 10_000, (value) => value >= 0 && Number.isFinite(value), 'milliseconds ≥ 0'),
    healthCheckTimeoutMillis: number('healthCheckTimeout', 5000, (value) => value > 0 && Number.isFinite(value), 'a positive number of milliseconds'),
    reconnectDelayMillis: number('reconnectDelay', 100, (value) => value >= 0 && Number.isFinite(value), 'milliseconds ≥ 0'),
    maxReconnectDelayMillis: number('maxReconnectDelay', 10_000, (value) => value >= 0 && Number.isFinite(value), 'milliseconds ≥ 0'),
    maxReconnectAttempts: number('maxReconnectAttempts', Infinity, (value) => value >= 1, 'at least 1 (Infinity: never give up)'),
    reconnectJitter: options.reconnectJitter ?? true,
  };
  if (typeof settings.reconnectJitter !== 'boolean') {
    throw new ConfigurationError(`Listen connection '${name}': reconnectJitter must be true or false.`, { conn: name });
  }
  const connection = Object.fromEntries(
    Object.entries(options).filter(([key]) => !(LISTEN_KEYS as readonly string[]).includes(key)),
  ) as ConnOptions;
  return { connection: { ...connection, name }, settings };
}
