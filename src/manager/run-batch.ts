import { timer, type Subscription } from 'rxjs';
import type { BatchEntry, BatchTransaction } from '../driver/batch-sink.js';
import type { TransactionSettings } from '../driver/driver.js';
import { BatchError } from '../errors/batch-error.js';
import { withCallSite, type CallSite } from '../errors/call-site.js';
import { QueryError } from '../errors/query-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { StatementTimeoutError } from '../errors/statement-timeout-error.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import type { Session, StatementHandle } from '../pool/session.js';
import type { Row } from '../rows/ordered-row.js';
import type { BatchResult } from './batch-statements.js';
import { MAX_MILLIS } from './durations.js';
import type { OperationTracker } from './manager-hooks.js';
import { isServerTimeout } from './run-statement.js';
import type { StatementContext } from './statement-context.js';

/** Where a batch's results and end go. */
export interface BatchTarget<T extends object> {
  next(result: BatchResult<T>): void;
  error(error: unknown): void;
  complete(): void;
}

/** How to run one batch. */
export interface RunBatchOptions {
  readonly site?: CallSite;
  /** The scope holding the session's lease (see {@link RunStatementOptions.scope}). */
  readonly scope?: LeaseScope;
  /** Runs before the target hears of the end (a batch on its own lease returns it there). */
  readonly beforeEnd?: () => void;
  /** The server's statement_timeout per statement and a client timer for the whole batch. */
  readonly timeoutMillis?: number;
  /** The config's own statement_timeout, already the session's default: client timer only. */
  readonly defaultTimeoutMillis?: number;
  readonly tracker?: OperationTracker;
  /** How the batch becomes one transaction when it starts outside one. */
  readonly transaction: BatchTransaction;
}

/** The statements that make a batch one transaction, in the backend's SQL; `settings` when any was asked for. */
export function batchTransaction(context: StatementContext, settings: TransactionSettings = {}): BatchTransaction {
  const { driver } = context;
  return {
    begin: driver.beginTransaction(settings),
    commit: driver.commitTransaction(),
    rollback: driver.rollbackTransaction(),
    settings: settings.isolationLevel !== undefined || settings.readOnly !== undefined || settings.deferrable !== undefined,
  };
}

/**
 * Runs a batch on `session`: its results are gathered per statement and emitted, in order, only
 * once the batch has ended (committed, when it was its own transaction), so a consumer never
 * sees a result that was rolled back. One `query` event per statement as it ends; one `error`
 * event for a failure.
 */
export function runBatch<T extends object>(
  session: Session,
  entries: readonly BatchEntry[],
  target: BatchTarget<T>,
  context: StatementContext,
  options: RunBatchOptions,
): StatementHandle {
  const { conn, emit, scheduler } = context;
  const { site, scope, beforeEnd, timeoutMillis, defaultTimeoutMillis, tracker } = options;
  const limit = timeoutMillis ?? (defaultTimeoutMillis && defaultTimeoutMillis > 0 ? defaultTimeoutMillis : undefined);
  const startedAt = scheduler.now();
  const size = entries.length;
  const results: { rows: Row<T>[]; command: string; rowCount: number | null }[] = entries.map(() => ({ rows: [], command: '', rowCount: null }));
  let rowCount = 0;
  let clock: Subscription | undefined;
  let ended = false;
  const wrap = scope ? <R>(fn: () => R): R => scope.inside(fn) : <R>(fn: () => R): R => fn();
  const fail = (error: Error, index: number | undefined, ownTransaction: boolean): void => {
    ended = true;
    clock?.unsubscribe();
    let reported = withCallSite(error, site);
    if (index !== undefined && reported instanceof QueryError && !(reported instanceof BatchError)) {
      reported = withCallSite(new BatchError(reported, index, size, ownTransaction), site);
    }
    if (reported instanceof RxpgError) {
      Object.defineProperty(reported, 'conn', { value: conn, enumerable: true });
      const failed = reported;
      emit(() => ({ type: 'error', conn, sql: index === undefined ? entries[0].sql : entries[index].sql, error: failed }));
    }
    tracker?.failed(reported, rowCount);
    beforeEnd?.();
    wrap(() => target.error(reported));
  };
  const handle = session.executeBatch(
    entries,
    {
      row: (index, shape, values) => {
        rowCount++;
        results[index].rows.push(shape.row<T>(values));
      },
      statement: (index, summary) => {
        const result = results[index];
        result.command = summary.command;
        result.rowCount = summary.rowCount;
        const { sql, params } = entries[index];
        emit(() => ({
          type: 'query',
          conn,
          processId: session.processId,
          sql,
          paramCount: params.length,
          durationMillis: scheduler.now() - startedAt,
          rowCount: summary.rowCount,
          batch: { index, size },
        }));
      },
      complete: () => {
        ended = true;
        clock?.unsubscribe();
        tracker?.succeeded(rowCount);
        beforeEnd?.();
        wrap(() => {
          for (let index = 0; index < size; index++) {
            const { rows, command, rowCount: count } = results[index];
            target.next({ index, sql: entries[index].sql, command, rowCount: count, rows });
          }
          target.complete();
        });
      },
      error: (error, index, ownTransaction) => {
        const elapsedMillis = scheduler.now() - startedAt;
        if (limit !== undefined && error instanceof RxpgError && isServerTimeout(error, limit, elapsedMillis)) {
          fail(new StatementTimeoutError('server', limit, elapsedMillis, { conn, statement: index === undefined ? undefined : entries[index].sql, cause: error }), index, ownTransaction);
        } else {
          fail(error, index, ownTransaction);
        }
      },
    },
    {
      ...(options.timeoutMillis !== undefined && { timeoutMillis: options.timeoutMillis }),
      transaction: options.transaction,
    },
  );
  if (limit !== undefined && !ended) {
    clock = timer(Math.min(limit + context.clientTimeoutGraceMillis, MAX_MILLIS), scheduler).subscribe(() => {
      if (ended) return;
      handle.abandon();
      fail(new StatementTimeoutError('client', limit, scheduler.now() - startedAt, { conn, statement: entries[0].sql }), undefined, false);
    });
  }
  return {
    abandon: () => {
      handle.abandon();
      if (!ended) tracker?.cancelled(rowCount);
    },
  };
}
