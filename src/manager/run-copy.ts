import { timer, type Subscriber, type Subscription } from 'rxjs';
import type { CopyHandlers } from '../driver/copy-handlers.js';
import type { StatementSink } from '../driver/statement-sink.js';
import { withCallSite, type CallSite } from '../errors/call-site.js';
import { QueryError } from '../errors/query-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { StatementTimeoutError } from '../errors/statement-timeout-error.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import type { Session } from '../pool/session.js';
import { MAX_MILLIS } from './durations.js';
import type { OperationTracker } from './manager-hooks.js';
import type { StatementContext } from './statement-context.js';

/** Who hears how a COPY ended: copyFrom's row count is emitted, copyTo's data went out already. */
export interface CopyTarget {
  complete(rowCount: number): void;
  error(error: unknown): void;
}

/** The caller of a COPY as its target: copyFrom's subscriber gets the row count, copyTo's only the end. */
export function copySubscriber<R>(method: 'copyTo' | 'copyFrom', subscriber: Subscriber<R>): CopyTarget {
  return {
    complete: (rowCount) => {
      if (method === 'copyFrom') subscriber.next(rowCount as R);
      subscriber.complete();
    },
    error: (error) => subscriber.error(error),
  };
}

/**
 * `target`, with an instrumentation's tracker told of the end first (rows: the server's count),
 * and the give-up function that tells it of a cancel. Without a tracker, both unchanged.
 */
export function trackedCopy(tracker: OperationTracker | undefined, target: CopyTarget): { target: CopyTarget; cancelled: (giveUp: () => void) => () => void } {
  if (tracker === undefined) return { target, cancelled: (giveUp) => giveUp };
  return {
    target: {
      complete: (rowCount) => {
        tracker.succeeded(rowCount);
        target.complete(rowCount);
      },
      error: (error) => {
        tracker.failed(error, 0);
        target.error(error);
      },
    },
    // A tracker that heard of the end already ignores this.
    cancelled: (giveUp) => () => {
      giveUp();
      tracker.cancelled(0);
    },
  };
}

/** One direction of COPY (copyTo's consumer, copyFrom's source) as {@link runCopy} drives it. */
export interface CopyDirection {
  /** What the driver calls with the COPY's data or writer. */
  readonly handlers: CopyHandlers;
  /** Whether the server started the COPY (sent data, or waits for it). */
  started(): boolean;
  /**
   * Stops the data on the client's side (unsubscribe, client timeout). True when that ends the
   * statement on the server by itself (a CopyFail went out); false when it needs a cancel.
   */
  stop(reason: string): boolean;
  /** The statement completed: call `done` once the caller may hear of it (a consumer's last stage has finished). */
  completed(done: () => void): void;
  /** The error to report instead of the server's, when the client ended the COPY (the source's own error). */
  ownError(): unknown;
}

/** How to run one COPY. */
export interface RunCopyOptions {
  /** copyTo or copyFrom, for messages. */
  readonly method: string;
  readonly site?: CallSite;
  /** The scope holding the session's lease, as for {@link runStatement}. */
  readonly scope?: LeaseScope;
  /** Runs before the caller hears of the end (a leased COPY returns its lease there). */
  readonly beforeEnd?: () => void;
  readonly timeoutMillis?: number;
  readonly defaultTimeoutMillis?: number;
}

/**
 * Runs one COPY on `session`: one `query` event with its row count and duration when it
 * completes, an `error` event when it fails, the statement's timeout on the server and a client
 * timer as for queries. Returns the function that gives it up: copyFrom's direction sends a
 * CopyFail (the server rolls the COPY back and the session comes back clean without a cancel),
 * anything else is cancelled with the session's race guard.
 */
export function runCopy(
  session: Session,
  sql: string,
  params: readonly unknown[],
  direction: CopyDirection,
  target: CopyTarget,
  context: StatementContext,
  options: RunCopyOptions,
): () => void {
  const { conn, emit, scheduler } = context;
  const { method, site, scope, beforeEnd, timeoutMillis, defaultTimeoutMillis } = options;
  const limit = timeoutMillis ?? (defaultTimeoutMillis && defaultTimeoutMillis > 0 ? defaultTimeoutMillis : undefined);
  const startedAt = scheduler.now();
  let clock: Subscription | undefined;
  /** The caller has heard of the end, or gave up: nothing more reaches it. */
  let ended = false;
  const wrap = scope ? (fn: () => void): void => scope.inside(fn) : (fn: () => void): void => fn();
  const report = (error: unknown): void => {
    const reported = error instanceof Error ? withCallSite(error, site) : error;
    if (reported instanceof RxpgError) {
      Object.defineProperty(reported, 'conn', { value: conn, enumerable: true });
      emit(() => ({ type: 'error', conn, sql, error: reported }));
    }
    beforeEnd?.();
    wrap(() => target.error(reported));
  };
  const end = (): boolean => {
    if (ended) return false;
    ended = true;
    clock?.unsubscribe();
    return true;
  };
  const sink: StatementSink = {
    row: () => {},
    complete: (summary) => {
      if (!end()) return;
      if (!direction.started()) {
        report(notACopy(method, sql));
        return;
      }
      // The source failed and the server ended the statement anyway (MySQL: a LOAD DATA given no
      // rows before its KILL landed completes with none): the caller still gets the source's error.
      const own = direction.ownError();
      if (own !== undefined) {
        report(own);
        return;
      }
      const rowCount = summary.rowCount ?? 0;
      emit(() => ({
        type: 'query',
        conn,
        processId: session.processId,
        sql,
        paramCount: params.length,
        durationMillis: scheduler.now() - startedAt,
        rowCount,
        ...(summary.prelude && { prelude: summary.prelude }),
      }));
      beforeEnd?.();
      direction.completed(() => wrap(() => target.complete(rowCount)));
    },
    error: (error) => {
      if (!end()) return;
      const own = direction.ownError();
      if (own !== undefined) return report(own);
      const elapsedMillis = scheduler.now() - startedAt;
      // As for queries: a cancel rxpg did not send, once the limit had passed, is the server's timeout.
      if (limit !== undefined && error instanceof RxpgError && (error.reason === 'statement_timeout' || (error.reason === 'canceled' && elapsedMillis >= limit - 1))) {
        report(new StatementTimeoutError('server', limit, elapsedMillis, { conn, statement: sql, cause: error }));
      } else report(error);
    },
  };
  const handle = session.execute(sql, params, sink, { timeoutMillis, copy: direction.handlers });
  const stop = (reason: string): void => {
    if (!direction.stop(reason)) handle.abandon();
  };
  if (limit !== undefined && !ended) {
    // Capped: a timer past 2^31−1 ms would fire after 1 ms.
    clock = timer(Math.min(limit + context.clientTimeoutGraceMillis, MAX_MILLIS), scheduler).subscribe(() => {
      if (!end()) return;
      stop(`timed out after ${limit} ms`);
      report(new StatementTimeoutError('client', limit, scheduler.now() - startedAt, { conn, statement: sql }));
    });
  }
  return () => {
    if (end()) stop('unsubscribed');
  };
}

/** A statement given to copyTo() or copyFrom() that ran without starting the COPY they expect. */
function notACopy(method: string, statement: string): QueryError {
  const expected = method === 'copyFrom' ? 'COPY … FROM STDIN' : 'COPY … TO STDOUT';
  return new QueryError(
    'unsupported',
    `${method}() ran a statement that is not a ${expected}, and it has run: ${method}() is for ${expected} only. ` +
      `Use query() or command() for other statements${method === 'copyTo' ? ', and copyFrom() for COPY … FROM STDIN' : ', and copyTo() for COPY … TO STDOUT'}.`,
    { statement },
  );
}
