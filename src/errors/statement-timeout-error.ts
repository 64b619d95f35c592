import { RxpgError } from './rxpg-error.js';

/** Which limit ended a statement: the server's `statement_timeout` or the client's timer. */
export type TimeoutLimit = 'server' | 'client';

/**
 * A statement ran past its `timeout` (code `RXPG_TIMEOUT`, reason `statement_timeout`). Named
 * apart from RxJS's own `TimeoutError` (thrown by the `timeout` operator), so both can be
 * imported in one file. The limit is enforced twice, by the server's
 * `statement_timeout` for that statement and by a client-side timer; `limit` says which fired
 * first. Either way the server has been told to stop (a CancelRequest when the client fired)
 * and the session is back at idle or destroyed before anyone else can use it.
 *
 * @example
 * ```ts
 * import { PgManager, StatementTimeoutError } from 'rxpg';
 *
 * PgManager.getInstance().query('SELECT pg_sleep(10)', [], { timeout: 500 }).subscribe({
 *   error: (err) => {
 *     if (err instanceof StatementTimeoutError) console.log(err.limit, err.timeoutMillis, err.elapsedMillis);
 *   },
 * });
 * ```
 */
export class StatementTimeoutError extends RxpgError {
  override readonly name = 'StatementTimeoutError';
  readonly limit: TimeoutLimit;
  readonly timeoutMillis: number;
  readonly elapsedMillis: number;
  /** The statement text; parameter values are never included. */
  readonly statement: string | undefined;

  constructor(
    limit: TimeoutLimit,
    timeoutMillis: number,
    elapsedMillis: number,
    options: { conn?: string; statement?: string; cause?: unknown } = {},
  ) {
    super(
      'RXPG_TIMEOUT',
      'statement_timeout',
      `The statement ran past its timeout of ${timeoutMillis} ms: the ${
        limit === 'server' ? "server's statement_timeout" : 'client-side timer'
      } fired after ${elapsedMillis} ms, and the server was told to stop.`,
      options,
    );
    this.limit = limit;
    this.timeoutMillis = timeoutMillis;
    this.elapsedMillis = elapsedMillis;
    this.statement = options.statement;
  }
}
