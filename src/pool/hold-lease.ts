import type { Lease, SharedStatement } from './lease.js';
import type { Pool } from './pool.js';
import type { Session } from './session.js';

/**
 * The one way rxpg holds a pool lease, for the body of an Observable: requests a lease now,
 * calls `granted` with the session, the lease (its scope, and `unsubscribe()` to return it
 * early) when the pool grants it, or `failed` when no session can be had. The returned teardown
 * runs the body's own teardown, then returns the lease (or leaves the queue), whenever it comes:
 * before the grant, during the body, after an early return.
 *
 * @example
 * ```ts
 * new Observable<Row>((subscriber) =>
 *   holdLease(pool, (session, lease) => {
 *     const handle = runStatement(session, sql, params, rowsTo(subscriber), context, { beforeEnd: () => lease.unsubscribe() });
 *     return () => handle.abandon();
 *   }, (error) => subscriber.error(error)),
 * );
 * ```
 */
export function holdLease(
  pool: Pool,
  granted: (session: Session, lease: Lease) => (() => void) | void,
  failed: (error: unknown) => void,
  statement?: SharedStatement,
): () => void {
  const lease = pool.lease(statement);
  let teardown: (() => void) | void;
  let released = false;
  lease.whenGranted((session) => {
    const bodyTeardown = granted(session, lease);
    // Unsubscribed while `granted` ran (a consumer that took one value and left): its teardown
    // was not known yet, so it runs now.
    if (released) bodyTeardown?.();
    else teardown = bodyTeardown;
  }, failed);
  return () => {
    released = true;
    teardown?.();
    teardown = undefined;
    // Returned after the body let go; a second return (the body returned it early) is a no-op.
    lease.unsubscribe();
  };
}
