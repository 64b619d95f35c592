import { RxpgError, type RxpgErrorOptions } from './rxpg-error.js';

/**
 * The server is a Postgres-wire engine that lacks something rxpg relies on for the call that
 * failed (LISTEN on CockroachDB, a pausable portal for `stream()` on CockroachDB without
 * `multiple_active_portals_enabled`, LISTEN through Neon's pooled endpoint). Nothing was sent for
 * it. `engine` and `feature` say what is missing where; the message says what to do instead.
 * Never retryable: the same call fails the same way until the setup changes. A listen config
 * stops retrying with a `ConnectionError` whose `cause` is this error.
 *
 * @example
 * ```ts
 * import { PgManager, EngineUnsupportedError } from 'rxpg';
 *
 * const pgm = new PgManager();
 * pgm.createConn({ connectionString: 'postgres://root@crdb.internal:26257/app' });
 * pgm.stream('SELECT * FROM big').subscribe({
 *   error: (err) => {
 *     if (err instanceof EngineUnsupportedError) console.error(err.engine, err.feature, err.message);
 *   },
 * });
 * ```
 * @see {@link detectEngine}
 */
export class EngineUnsupportedError extends RxpgError {
  override readonly name = 'EngineUnsupportedError';
  /** The engine, as people write it: `CockroachDB`, `Neon (pooled endpoint)`. */
  readonly engine: string;
  /** What it lacks: `LISTEN`, `stream()`. */
  readonly feature: string;

  constructor(engine: string, feature: string, message: string, options: Omit<RxpgErrorOptions, 'isRetryable'> = {}) {
    super('RXPG_ENGINE', 'unsupported', message, { ...options, isRetryable: false });
    this.engine = engine;
    this.feature = feature;
  }
}
