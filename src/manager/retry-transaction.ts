import { retry, throwError, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { RxpgError } from '../errors/rxpg-error.js';

/** Options of {@link retryTransaction}. */
export interface RetryTransactionOptions {
  /** Attempts in all, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** Delay before the first retry; doubles each time, with ±50 % jitter. Default 10 ms. */
  readonly baseDelayMillis?: number;
  /** Where the delays run (tests pass a TestScheduler). */
  readonly scheduler?: SchedulerLike;
}

/**
 * Runs a transaction again when it fails with a retryable error (serialization failure,
 * deadlock, lock timeout: `isRetryable: true`); any other error passes straight through, and so
 * does an `outcome_unknown` COMMIT. Safe because {@link PgManager.transaction} emits nothing
 * before its COMMIT succeeded.
 *
 * @example
 * ```ts
 * import { PgManager, retryTransaction } from 'rxpg';
 *
 * PgManager.getInstance()
 *   .transaction((tx) => tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [1]), { isolationLevel: 'serializable' })
 *   .pipe(retryTransaction({ maxAttempts: 5 }))
 *   .subscribe();
 * ```
 * @see {@link PgManager.transaction}
 */
export function retryTransaction<T>(options: RetryTransactionOptions = {}): MonoTypeOperatorFunction<T> {
  const { maxAttempts = 3, baseDelayMillis = 10, scheduler } = options;
  return retry<T>({
    count: Math.max(0, maxAttempts - 1),
    delay: (error: unknown, retryCount: number) => {
      if (!(error instanceof RxpgError) || !error.isRetryable) return throwError(() => error);
      const base = baseDelayMillis * 2 ** (retryCount - 1);
      return timer(base * (0.5 + Math.random()), scheduler);
    },
  });
}
