import { Observable, type Subscription } from 'rxjs';
import { inScope, outOfScope } from '../pool/lease-scope.js';
import type { Pool } from '../pool/pool.js';
import type { Session } from '../pool/session.js';

/**
 * Holds one lease for the life of `body(session)`: the lease is taken on subscribe and returned
 * when the body completes, errors or is unsubscribed (also while the lease is still being
 * acquired). The lease is returned before the subscriber hears of the end, so it can start new
 * work on a free session. With `buffered`, the body's values are held back and emitted only
 * after the lease is returned (transactions: nothing is seen before COMMIT succeeded).
 */
export function scopedLease<R>(
  pool: Pool,
  body: (session: Session) => Observable<R>,
  options: { buffered: boolean; onEnd?: () => void },
): Observable<R> {
  return new Observable<R>((subscriber) => {
    const lease = pool.lease();
    let inner: Subscription | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      options.onEnd?.();
      lease.unsubscribe();
    };
    const granted = lease.granted$.subscribe({
      next: (session) => {
        const values: R[] = [];
        inner = inScope(session, () =>
          body(session).subscribe({
            next: (value) => {
              if (options.buffered) values.push(value);
              else outOfScope(session, () => subscriber.next(value));
            },
            error: (error: unknown) => {
              end();
              outOfScope(session, () => subscriber.error(error));
            },
            complete: () => {
              end();
              outOfScope(session, () => {
                for (const value of values) subscriber.next(value);
                subscriber.complete();
              });
            },
          }),
        );
      },
      error: (error: unknown) => subscriber.error(error),
    });
    return () => {
      // Mark the handle ended first, so nothing it owns queues more work on a session going back.
      options.onEnd?.();
      granted.unsubscribe();
      inner?.unsubscribe();
      end();
    };
  });
}
