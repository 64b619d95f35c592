import { ConfigurationError } from '../errors/configuration-error.js';
import { didYouMean } from '../util/nearest-name.js';

/** Options of {@link PgManager.query}. */
export interface QueryOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
}

/** Options of {@link PgManager.stream} and {@link PgManager.streamBatches}. */
export interface StreamOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /** Rows fetched from the server-side cursor per round trip. Default 2000. */
  readonly batchSize?: number;
}

export const DEFAULT_BATCH_SIZE = 2000;

/** The batch size of `options`, checked: a positive integer. */
export function batchSizeOf(options: StreamOptions, method: string): number {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new ConfigurationError(`${method}: batchSize must be a positive integer number of rows, got ${JSON.stringify(options.batchSize)}.`);
  }
  return batchSize;
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
