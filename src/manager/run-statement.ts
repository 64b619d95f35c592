import { withCallSite, type CallSite } from '../errors/call-site.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { inScope } from '../pool/lease-scope.js';
import type { Session, StatementHandle } from '../pool/session.js';
import type { CursorControl, RunOptions, StatementSummary } from '../driver/statement-sink.js';
import type { Row } from '../rows/ordered-row.js';
import type { StatementContext } from './statement-context.js';

/** Where a statement's rows and end go: a Subscriber, or an internal command's callbacks. */
export interface StatementTarget<T extends object> {
  next(row: Row<T>): void;
  /** A cursor statement paused after a batch: resume with `control.fetch()` when ready. */
  suspended?(control: CursorControl): void;
  error(error: unknown): void;
  complete(summary: StatementSummary): void;
}

/**
 * Runs one statement on `session` and reports to `target`, emitting a query or error event.
 * `beforeEnd` runs before the target hears of the end (a plain query returns its lease there,
 * so whoever reacts to the completion finds the session free). With `scoped`, everything the
 * target does runs inside the session's scope, so a lease request made from there that only
 * this session could serve fails fast instead of waiting forever.
 */
export function runStatement<T extends object>(
  session: Session,
  sql: string,
  params: readonly unknown[],
  target: StatementTarget<T>,
  context: StatementContext,
  site: CallSite | undefined,
  scoped: boolean,
  beforeEnd?: () => void,
  options?: RunOptions,
): StatementHandle {
  const { conn, emit, scheduler } = context;
  const startedAt = scheduler.now();
  const wrap = scoped ? <R>(fn: () => R): R => inScope(session, fn) : <R>(fn: () => R): R => fn();
  return session.execute(sql, params, {
    row: (shape, values) => {
      const row = shape.row<T>(values);
      wrap(() => target.next(row));
    },
    suspended: (control) => (target.suspended ? wrap(() => target.suspended?.(control)) : control.fetch()),
    complete: (summary) => {
      emit(() => ({
        type: 'query',
        conn,
        processId: session.processId,
        sql,
        paramCount: params.length,
        durationMillis: scheduler.now() - startedAt,
        rowCount: summary.rowCount,
      }));
      beforeEnd?.();
      wrap(() => target.complete(summary));
    },
    error: (error) => {
      const reported = withCallSite(error, site);
      if (reported instanceof RxpgError) {
        Object.defineProperty(reported, 'conn', { value: conn, enumerable: true });
        emit(() => ({ type: 'error', conn, sql, error: reported }));
      }
      beforeEnd?.();
      wrap(() => target.error(reported));
    },
  }, options);
}
