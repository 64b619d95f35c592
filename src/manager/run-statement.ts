import { timer, type Subscription } from 'rxjs';
import type { CursorControl, StatementSink, StatementSummary } from '../driver/statement-sink.js';
import { withCallSite, type CallSite } from '../errors/call-site.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { StatementTimeoutError } from '../errors/statement-timeout-error.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import type { Session, StatementHandle } from '../pool/session.js';
import type { Row } from '../rows/ordered-row.js';
import { MAX_MILLIS } from './durations.js';
import type { OperationTracker } from './manager-hooks.js';
import type { StatementContext } from './statement-context.js';

/** Where a statement's rows and end go: a Subscriber, or an internal command's callbacks. */
export interface StatementTarget<T extends object> {
  next(row: Row<T>): void;
  /** A cursor statement paused after a batch: resume with `control.fetch()` when ready. */
  suspended?(control: CursorControl): void;
  error(error: unknown): void;
  complete(summary: StatementSummary): void;
}

/** How to run one statement. */
export interface RunStatementOptions {
  /** Where the caller called from, for error stacks. */
  readonly site?: CallSite;
  /**
   * The scope holding the session's lease: everything the target does runs inside it, so a lease
   * request made from there that only this session could serve fails fast instead of waiting
   * forever.
   */
  readonly scope?: LeaseScope;
  /** Runs before the target hears of the end (a plain query returns its lease there). */
  readonly beforeEnd?: () => void;
  /** Read through a cursor, this many rows per fetch. */
  readonly batchSize?: number;
  /**
   * Enforced twice: the server's statement_timeout for this statement and a client timer that
   * fires `clientTimeoutGraceMillis` later, as a backstop for when the server's answer cannot
   * arrive. For a cursor both cover the whole statement, first fetch to last (the server's
   * statement_timeout runs until Sync), time the consumer holds a batch included.
   */
  readonly timeoutMillis?: number;
  /** The config's own statement_timeout, already the session's default: client timer only. */
  readonly defaultTimeoutMillis?: number;
  /** An instrumentation's tracker of this statement: told of its end before the target is. */
  readonly tracker?: OperationTracker;
  /** An independent caller's statement, which may share the session's pipeline (see {@link Session.executeShared}). */
  readonly shared?: boolean;
}

/** Runs one statement on `session`, reporting to `target` and emitting a query or error event. */
export function runStatement<T extends object>(
  session: Session,
  sql: string,
  params: readonly unknown[],
  target: StatementTarget<T>,
  context: StatementContext,
  options: RunStatementOptions = {},
): StatementHandle {
  const { conn, emit, scheduler } = context;
  const { site, scope, beforeEnd, batchSize, timeoutMillis, defaultTimeoutMillis, tracker, shared } = options;
  const limit = timeoutMillis ?? (defaultTimeoutMillis && defaultTimeoutMillis > 0 ? defaultTimeoutMillis : undefined);
  // A shared statement's time starts when the server starts on it (see startClock).
  let startedAt = scheduler.now();
  let clock: Subscription | undefined;
  let ended = false;
  let handle: StatementHandle | undefined;
  let rows = 0;
  const wrap = scope ? <R>(fn: () => R): R => scope.inside(fn) : <R>(fn: () => R): R => fn();
  const fail = (error: Error): void => {
    ended = true;
    clock?.unsubscribe();
    const reported = withCallSite(error, site);
    if (reported instanceof RxpgError) {
      Object.defineProperty(reported, 'conn', { value: conn, enumerable: true });
      emit(() => ({ type: 'error', conn, sql, error: reported }));
    }
    tracker?.failed(reported, rows);
    beforeEnd?.();
    wrap(() => target.error(reported));
  };
  const startClock = (): void => {
    // A shared statement's turn: again when it was sent again behind others (its old clock was
    // stopped then, see `requeued`), and it counts from the new turn.
    if (shared === true) startedAt = scheduler.now();
    if (limit === undefined || ended) return;
    // Capped: a timer past 2^31−1 ms would fire after 1 ms.
    clock = timer(Math.min(limit + context.clientTimeoutGraceMillis, MAX_MILLIS), scheduler).subscribe(() => {
      if (ended) return;
      // The client's limit fired first: stop the server (cancel, or close the cursor) and give
      // the caller the one timeout error now; the session stays held until the server is done.
      handle?.abandon(true);
      fail(new StatementTimeoutError('client', limit, scheduler.now() - startedAt, { conn, statement: sql }));
    });
  };
  const sink: StatementSink = {
    row: scope
      ? (shape, values) => {
          const row = shape.row<T>(values);
          rows++;
          scope.inside(() => target.next(row));
        }
      : (shape, values) => {
          rows++;
          target.next(shape.row<T>(values));
        },
    suspended: (control) => (target.suspended ? wrap(() => target.suspended?.(control)) : control.fetch()),
    complete: (summary) => {
      ended = true;
      clock?.unsubscribe();
      emit(() => ({
        type: 'query',
        conn,
        processId: session.processId,
        sql,
        paramCount: params.length,
        durationMillis: scheduler.now() - startedAt,
        rowCount: summary.rowCount,
        ...(summary.prelude && { prelude: summary.prelude }),
      }));
      tracker?.succeeded(rows);
      beforeEnd?.();
      wrap(() => target.complete(summary));
    },
    error: (error) => {
      const elapsedMillis = scheduler.now() - startedAt;
      if (limit !== undefined && error instanceof RxpgError && isServerTimeout(error, limit, elapsedMillis)) {
        fail(new StatementTimeoutError('server', limit, elapsedMillis, { conn, statement: sql, cause: error }));
      } else {
        fail(error);
      }
    },
    // Sent again behind other statements (see StatementSink.requeued): its clock waits for its new turn.
    requeued: () => clock?.unsubscribe(),
  };
  // A shared statement may wait behind others on the session's pipeline: its clock starts when
  // the server starts on it, as a leased one's starts once the lease is granted. It waits only
  // behind statements with a time limit when it has one (see Session.executeShared).
  handle =
    shared === true
      ? session.executeShared(sql, params, sink, { timeoutMillis }, { started: startClock, limited: limit !== undefined })
      : session.execute(sql, params, sink, { batchSize, timeoutMillis });
  if (shared !== true) startClock();
  const running = handle;
  return {
    abandon: (timedOut) => {
      // The caller let go: its clock can fire no more (no timeout error or event after it).
      const wasEnded = ended;
      ended = true;
      clock?.unsubscribe();
      running.abandon(timedOut);
      if (!wasEnded) tracker?.cancelled(rows);
    },
  };
}

/**
 * Whether the server stopped a statement because of the time limit rxpg set for it. A backend
 * that has a code of its own for it (MySQL, MariaDB) says `statement_timeout`. Postgres says only
 * `canceled` (57014, whatever the language of its message): rxpg sent no cancel for this statement
 * (an abandoned statement reports nothing), so a cancel that came once the limit had passed is the
 * limit's. The client's clock starts before the server's, so its elapsed time is never shorter;
 * 1 ms allows for the clock's granularity.
 */
export function isServerTimeout(error: RxpgError, limitMillis: number, elapsedMillis: number): boolean {
  return error.reason === 'statement_timeout' || (error.reason === 'canceled' && elapsedMillis >= limitMillis - 1);
}
