import { RxpgError } from './rxpg-error.js';

/**
 * A connection config or an option is wrong: unknown key, duplicate or unknown connection name,
 * bad isolation level, malformed connection string. Thrown at once, synchronously, by the call
 * that received the bad input; the message says how to fix it and never contains a password.
 *
 * @example
 * ```ts
 * import { PgManager, ConfigurationError } from 'rxpg';
 *
 * try {
 *   new PgManager().createConn({ hots: 'localhost' });
 * } catch (err) {
 *   if (err instanceof ConfigurationError) console.error(err.message); // … did you mean 'host'?
 * }
 * ```
 */
export class ConfigurationError extends RxpgError {
  override readonly name = 'ConfigurationError';

  constructor(message: string, options: { conn?: string; cause?: unknown } = {}) {
    super('RXPG_CONFIGURATION', 'configuration', message, options);
  }
}
