import { ConfigurationError } from '../errors/configuration-error.js';
import { didYouMean } from '../util/nearest-name.js';

/** Options of {@link PgManager.query}. */
export interface QueryOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
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
