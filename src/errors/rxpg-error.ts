import { isRetryableReason, type ErrorReason } from './error-reason.js';

/** Options every rxpg error accepts. */
export interface RxpgErrorOptions {
  /** The error this one wraps (a driver error, a socket error). */
  readonly cause?: unknown;
  /** Overrides the reason's default retryability (a connection lost before a statement was sent is retryable). */
  readonly isRetryable?: boolean;
  /** The connection config's name the error belongs to. */
  readonly conn?: string;
}

/**
 * Base class of every error rxpg emits. `code` is stable per class (`RXPG_QUERY`, …), `reason`
 * is shared with every backend, `isRetryable` says whether retrying the unit of work makes sense.
 *
 * @example
 * ```ts
 * import { PgManager, RxpgError } from 'rxpg';
 * import { catchError, EMPTY } from 'rxjs';
 *
 * PgManager.getInstance().query('SELECT 1').pipe(
 *   catchError((err: unknown) => {
 *     if (err instanceof RxpgError && err.reason === 'unique_violation') return EMPTY;
 *     throw err;
 *   }),
 * );
 * ```
 * @see {@link ErrorReason}
 */
export class RxpgError extends Error {
  override readonly name: string = 'RxpgError';
  readonly code: string;
  readonly reason: ErrorReason;
  readonly isRetryable: boolean;
  readonly conn: string | undefined;

  constructor(code: string, reason: ErrorReason, message: string, options: RxpgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.isRetryable = options.isRetryable ?? isRetryableReason(reason);
    this.conn = options.conn;
  }
}
