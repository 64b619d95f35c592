import type { ErrorReason } from './error-reason.js';
import { RxpgError } from './rxpg-error.js';

/** A snapshot of a pool, carried by {@link PoolError} so a timeout explains itself. */
export interface PoolState {
  /** Configured maximum number of sessions. */
  readonly size: number;
  /** Sessions open or opening. */
  readonly total: number;
  /** Sessions leased out (including those being reset after release). */
  readonly inUse: number;
  /** Idle sessions ready to be leased. */
  readonly idle: number;
  /** Lease requests queued. */
  readonly waiting: number;
}

/**
 * A lease could not be granted: `pool_timeout` (no session within `acquireTimeout`, covering the
 * queue, DNS, TCP, authentication and `initStatement`), `pool_full` (the wait queue is at
 * `maxWaiting`), `pool_deadlock` (the caller already holds every session of this pool, for
 * example `pgm.query()` inside `pgm.transaction()` on a pool of one), `scope_bypass` (a statement
 * of the same config started inside a scope without its handle, refused by the manager's
 * `scopeBypass: 'error'`) or `closed` (the pool was closed while waiting). `pool` says what the
 * pool looked like at that moment.
 *
 * @example
 * ```ts
 * import { PgManager, PoolError } from 'rxpg';
 *
 * const pgm = new PgManager();
 * pgm.createConn({ poolSize: 1, acquireTimeout: 1000 });
 * pgm.query('SELECT 1').subscribe({
 *   error: (err) => { if (err instanceof PoolError) console.log(err.reason, err.pool); },
 * });
 * ```
 */
export class PoolError extends RxpgError {
  override readonly name = 'PoolError';
  readonly pool: PoolState;

  constructor(
    reason: Extract<ErrorReason, 'pool_timeout' | 'pool_full' | 'pool_deadlock' | 'scope_bypass' | 'closed'>,
    message: string,
    pool: PoolState,
    options: { conn?: string; cause?: unknown } = {},
  ) {
    super('RXPG_POOL', reason, message, options);
    this.pool = pool;
  }
}
