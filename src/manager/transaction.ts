import { concat, defer, from, Observable, ignoreElements, catchError, throwError, map, type ObservableInput } from 'rxjs';
import { ConnectionError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import type { Session } from '../pool/session.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import { Connection } from './connection.js';
import { runCommand } from './run-command.js';
import type { StatementContext } from './statement-context.js';

/** Isolation levels a transaction can ask for. */
export type TransactionIsolationLevel = 'read_committed' | 'repeatable_read' | 'serializable';

/** Options of {@link PgManager.transaction}. */
export interface TransactionOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /** Defaults to the config's isolation level (the server's default under `autocommit`). */
  readonly isolationLevel?: TransactionIsolationLevel;
  readonly readOnly?: boolean;
  /** `DEFERRABLE`: only meaningful for serializable read-only transactions. */
  readonly deferrable?: boolean;
}

let nextSavepoint = 1;

/**
 * The handle of a transaction scope: statements on the transaction's session, and nested
 * savepoints. Obtained from {@link PgManager.transaction} (or a `cursor()` scope outside
 * autocommit).
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 * import { concat } from 'rxjs';
 *
 * PgManager.getInstance().transaction((tx) =>
 *   concat(
 *     tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1]),
 *     tx.savepoint((sp) => sp.query('INSERT INTO audit (note) VALUES ($1)', ['moved 10'])),
 *   ),
 * ).subscribe();
 * ```
 * @see {@link PgManager.transaction}
 */
export class Transaction extends Connection {
  /**
   * Runs `fn` inside `SAVEPOINT …`: released when its observable completes, rolled back to (and
   * the error passed on) when it errors, rolled back to when it is unsubscribed. The outer
   * transaction goes on either way; catch the error to continue after a failed savepoint.
   */
  savepoint<R>(fn: (tx: Transaction) => ObservableInput<R>): Observable<R> {
    const { session, scope, context } = this;
    const { driver } = context;
    return new Observable<R>((subscriber) => {
      const name = `rxpg_sp_${nextSavepoint++}`;
      let settled = false;
      const body = concat(
        runCommand(session, scope, driver.savepoint(name), context).pipe(ignoreElements()),
        defer(() => scope.inside(() => from(fn(this)))),
      );
      const inner = body.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          settled = true;
          runCommand(session, scope, driver.rollbackToSavepoint(name), context).subscribe({
            complete: () => subscriber.error(error),
            error: () => subscriber.error(error),
          });
        },
        complete: () => {
          settled = true;
          runCommand(session, scope, driver.releaseSavepoint(name), context).subscribe({
            complete: () => subscriber.complete(),
            error: (error: unknown) => subscriber.error(error),
          });
        },
      });
      return () => {
        inner.unsubscribe();
        // Unsubscribed mid-savepoint: undo its work. Queued on the session, this runs after the
        // cancelled statement ends and before anything the transaction does next.
        if (!settled && !this.ended) runCommand(session, scope, driver.rollbackToSavepoint(name), context).subscribe({ error: () => {} });
      };
    });
  }
}

/**
 * BEGIN, the user's work, COMMIT, on one session. A COMMIT that the server turned into a
 * ROLLBACK (a statement failed and the error was caught) is an error, not a success; a session
 * lost during COMMIT is `outcome_unknown`.
 */
export function transactionBody<R>(
  session: Session,
  scope: LeaseScope,
  context: StatementContext,
  begin: readonly string[],
  fn: (tx: Transaction) => ObservableInput<R>,
  onTransaction: (tx: Transaction) => void,
): Observable<R> {
  const tx = new Transaction(session, scope, context);
  onTransaction(tx);
  // Known dead before COMMIT was sent: the server rolled the transaction back.
  const commitOrLost = defer(() => (session.isBroken ? throwError(() => lostBeforeCommit(context.conn)) : commit));
  const commitSql = context.driver.commitTransaction();
  const commit = runCommand(session, scope, commitSql, context).pipe(
    map((summary) => {
      if (!context.driver.committed(summary)) {
        // The server sent no error to carry: no SQLSTATE is made up for it.
        throw new QueryError(
          'invalid_transaction_state',
          'COMMIT rolled the transaction back because a statement in it failed; nothing was committed.',
          { statement: commitSql },
          { conn: context.conn },
        );
      }
    }),
    ignoreElements(),
    catchError((error: unknown) =>
      throwError(() =>
        error instanceof ConnectionError
          ? new ConnectionError(
              `The session was lost during COMMIT of a transaction on '${context.conn}'; the transaction may or may not ` +
                `have committed. Check before retrying.`,
              { reason: 'outcome_unknown', conn: context.conn, cause: error, isRetryable: false },
            )
          : error,
      ),
    ),
  );
  // BEGIN is not a round trip of its own: it travels with the transaction's first statement.
  return concat(
    defer(() => {
      session.beginWithNextStatement(begin);
      return from(fn(tx));
    }).pipe(
      catchError((error: unknown) =>
        throwError(() =>
          // The session died under a statement of the transaction: COMMIT was never sent, so the
          // server rolled everything back, and running the whole transaction again is safe.
          error instanceof ConnectionError && error.reason === 'connection' && session.isBroken && !error.isRetryable
            ? lostBeforeCommit(context.conn, error)
            : error,
        ),
      ),
    ),
    commitOrLost,
  );
}

/**
 * The session died before COMMIT was sent (between statements, or under one): the server rolled
 * the transaction back, so running it again is safe.
 */
function lostBeforeCommit(conn: string, cause?: ConnectionError): ConnectionError {
  return new ConnectionError(
    `The session of '${conn}' was lost before COMMIT was sent; the server rolled the transaction back${cause ? `: ${cause.message}` : '.'}`,
    { conn, cause, isRetryable: true },
  );
}
