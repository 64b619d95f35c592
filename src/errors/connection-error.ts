import type { ErrorReason } from './error-reason.js';
import { RxpgError, type RxpgErrorOptions } from './rxpg-error.js';

/**
 * The session could not be opened or was lost: refused, reset, timed out while connecting,
 * terminated by the server, or authentication failed (`reason: 'authentication'`). A database
 * that does not exist is `undefined_object`, one the user may not use `permission`; neither is
 * retryable, nor is authentication. A session
 * lost during COMMIT has `reason: 'outcome_unknown'`: the transaction may or may not have
 * committed.
 *
 * @example
 * ```ts
 * import { PgManager, ConnectionError } from 'rxpg';
 *
 * const pgm = new PgManager();
 * pgm.createConn({ host: '127.0.0.1', port: 1, connectTimeout: 2 });
 * pgm.query('SELECT 1').subscribe({
 *   error: (err) => console.log(err instanceof ConnectionError, err.reason), // true 'connection'
 * });
 * ```
 */
export class ConnectionError extends RxpgError {
  override readonly name = 'ConnectionError';
  /**
   * The server's SQLSTATE when the server refused or ended the session (`28P01` wrong
   * password, `3D000` no such database, `57P01` terminated, …); undefined for a socket or
   * client-side fault.
   */
  readonly sqlState: string | undefined;

  constructor(
    message: string,
    options: RxpgErrorOptions & {
      reason?: Extract<ErrorReason, 'connection' | 'authentication' | 'outcome_unknown' | 'insufficient_resources' | 'undefined_object' | 'permission'>;
      sqlState?: string;
    } = {},
  ) {
    super('RXPG_CONNECTION', options.reason ?? 'connection', message, options);
    this.sqlState = options.sqlState;
  }
}

/** What a driver reports for a statement sent to a session already known to be dead: retryable, as nothing reached the server. */
export function sessionClosedError(): ConnectionError {
  return new ConnectionError('the session is closed', { isRetryable: true });
}
