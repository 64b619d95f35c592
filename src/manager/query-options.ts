import { ConfigurationError } from '../errors/configuration-error.js';
import { didYouMean } from '../util/nearest-name.js';
import { checkMillis, shownValue } from './durations.js';

/** Options of {@link PgManager.query}. */
export interface QueryOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /**
   * Milliseconds this statement may run, enforced twice: the server's `statement_timeout` for
   * this statement alone and a client-side timer. Whichever fires first, the server stops and
   * the caller gets one {@link StatementTimeoutError}. Defaults to the config's `statementTimeout`. A
   * statement with a timeout is sent alone (one statement per text).
   */
  readonly timeout?: number;
}

/** Options of {@link PgManager.stream} and {@link PgManager.streamBatches}. */
export interface StreamOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /** Rows fetched from the server-side cursor per round trip. Default 2000. */
  readonly batchSize?: number;
  /**
   * Milliseconds the whole stream may take, first fetch to last, enforced by the server and a
   * client timer as for {@link QueryOptions.timeout}. Time the consumer holds a batch counts:
   * Postgres' statement_timeout runs from the cursor's first message until it is closed.
   */
  readonly timeout?: number;
}

export const DEFAULT_BATCH_SIZE = 2000;

/** The most rows one Execute may ask for: the server reads the count as a signed 32-bit integer. */
export const MAX_BATCH_SIZE = 2 ** 31 - 1;

/** The batch size of `options`, checked: a positive integer of at most MAX_BATCH_SIZE. */
export function batchSizeOf(options: StreamOptions, method: string): number {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize <= 0 || batchSize > MAX_BATCH_SIZE) {
    throw new ConfigurationError(`${method}: batchSize must be a positive integer number of rows of at most ${MAX_BATCH_SIZE}, got ${shownValue(options.batchSize)}.`);
  }
  return batchSize;
}

/** The `timeout` of `options`, checked: a whole number of milliseconds a timer can keep, or undefined. */
export function timeoutOf(options: { timeout?: number }, method: string): number | undefined {
  const { timeout } = options;
  if (timeout === undefined) return undefined;
  return checkMillis(timeout, 'timeout', `${method}: `, { min: 1 });
}

/** Throws a ConfigurationError for an option key `method` does not know. */
export function checkOptionKeys(options: object, known: readonly string[], method: string): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError(`${method}: options must be an object such as { conn: 'default' }.`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ConfigurationError(`${method}: unknown option '${key}'${didYouMean(key, known)}. Known options: ${known.join(', ')}.`);
    }
  }
}
