import { Observable, type Subscription } from 'rxjs';
import { holdLease } from '../pool/hold-lease.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import type { Pool } from '../pool/pool.js';
import type { Session } from '../pool/session.js';

/**
 * A scope on one lease (a transaction, a cursor or connection scope): the lease is taken on
 * subscribe and held for the life of `body(session, scope)`, whose code runs inside the lease's
 * scope. The lease goes back before the subscriber hears of the end, so it can start new work on
 * a free session, and on unsubscribe (also while the lease is still being acquired). With
 * `buffered`, the body's values are held back and emitted only after the lease is returned
 * (transactions: nothing is seen before COMMIT succeeded).
 */
export function scopedLease<R>(
  pool: Pool,
  body: (session: Session, scope: LeaseScope) => Observable<R>,
  options: { buffered: boolean; onEnd?: () => void },
): Observable<R> {
  return new Observable<R>((subscriber) =>
    holdLease(
      pool,
      (session, lease) => {
        const scope = lease.scope;
        const values: R[] = [];
        let ended = false;
        const end = (): void => {
          if (ended) return;
          ended = true;
          options.onEnd?.();
          lease.unsubscribe();
        };
        const inner: Subscription = scope.inside(() =>
          body(session, scope).subscribe({
            next: (value) => {
              if (options.buffered) values.push(value);
              else scope.outside(() => subscriber.next(value));
            },
            error: (error: unknown) => {
              end();
              scope.outside(() => subscriber.error(error));
            },
            complete: () => {
              end();
              scope.outside(() => {
                for (const value of values) subscriber.next(value);
                subscriber.complete();
              });
            },
          }),
        );
        return () => {
          // Mark the handle ended first, so nothing it owns queues more work on a session going back.
          options.onEnd?.();
          inner.unsubscribe();
          end();
        };
      },
      (error) => subscriber.error(error),
    ),
  );
}
