import { inspect } from 'node:util';
import { Observable, type Subscriber } from 'rxjs';
import { captureCallSite, type CallSite } from '../errors/call-site.js';
import { RxpgError } from '../errors/rxpg-error.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import type { Session } from '../pool/session.js';
import type { Row } from '../rows/ordered-row.js';
import { checkStatement } from './check-statement.js';
import type { OperationTracker } from './manager-hooks.js';
import { batchEntriesOf, type BatchResult, type BatchStatement } from './batch-statements.js';
import { summaryTo, type CommandResult } from './command-result.js';
import { copyFromFeeder } from './copy-from-feeder.js';
import { copyTypesOf, stageOf, type CopyFromOptions, type CopyToOptions } from './copy-options.js';
import { checkCopySource, type CopySource } from './copy-source.js';
import { copyToConsumer } from './copy-to-consumer.js';
import { copySubscriber, runCopy, trackedCopy, type CopyDirection } from './run-copy.js';
import { batchSizeOf, checkOptionKeys, timeoutOf } from './query-options.js';
import { batchTransaction, runBatch } from './run-batch.js';
import { runStatement, type StatementTarget } from './run-statement.js';
import type { StatementContext } from './statement-context.js';

/**
 * A leased session, handed out by {@link PgManager.connection} and scopes. Its statements run
 * one after another on the same session; it is usable until its lease ends, after which its
 * methods error with code `RXPG_LEASE`.
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 * import { concat, toArray } from 'rxjs';
 *
 * const pgm = PgManager.getInstance();
 * pgm.connection('default', (conn) =>
 *   concat(conn.query('SET LOCAL work_mem TO 65536'), conn.query('SELECT pg_backend_pid() AS pid')),
 * ).pipe(toArray());
 * ```
 * @see {@link PgManager.connection}
 */
export class Connection {
  /** @internal */
  protected readonly session: Session;
  /** @internal The scope of the lease this handle's code runs in. */
  protected readonly scope: LeaseScope;
  /** @internal */
  protected readonly context: StatementContext;
  #ended = false;
  /** @internal The transaction operation an instrumentation follows, parent of this handle's statements. */
  operation: OperationTracker | undefined;

  /** @internal */
  constructor(session: Session, scope: LeaseScope, context: StatementContext) {
    this.session = session;
    this.scope = scope;
    this.context = context;
  }

  /** The server's process id of this session (`pg_backend_pid()`). */
  get processId(): number {
    return this.session.processId;
  }

  /** The config name this connection belongs to. */
  get conn(): string {
    return this.context.conn;
  }

  /**
   * Runs `sql` with bound `params` on this session: a cold `Observable<Row>` emitting each row as
   * it is parsed. Unsubscribing while it runs cancels it on the server.
   */
  query<T extends object = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: { timeout?: number } = {}): Observable<Row<T>> {
    checkStatement(sql, params);
    checkOptionKeys(options, ['timeout'], 'query');
    const timeoutMillis = timeoutOf(options, 'query');
    return this.#statement<T, Row<T>>('query', sql, params, captureCallSite(this.query, this.context.callSites), { timeoutMillis }, rowsTo);
  }

  /**
   * Runs one statement for its effect on this session, as {@link DbManager.command} does: emits
   * one `{ command, rowCount }` when it has ended, and completes. In a transaction the count is
   * what the statement did inside it, before COMMIT.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { concat, toArray } from 'rxjs';
   *
   * PgManager.getInstance()
   *   .transaction((tx) =>
   *     concat(
   *       tx.command('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1]),
   *       tx.command('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [10, 2]),
   *     ),
   *   )
   *   .pipe(toArray())
   *   .subscribe((results) => console.log(results)); // [{ command: 'UPDATE', rowCount: 1 }, { command: 'UPDATE', rowCount: 1 }]
   * ```
   * @see {@link CommandResult}
   */
  command(sql: string, params: readonly unknown[] = [], options: { timeout?: number } = {}): Observable<CommandResult> {
    checkStatement(sql, params);
    checkOptionKeys(options, ['timeout'], 'command');
    const timeoutMillis = timeoutOf(options, 'command');
    return this.#statement<Record<string, unknown>, CommandResult>('command', sql, params, captureCallSite(this.command, this.context.callSites), { timeoutMillis }, summaryTo);
  }

  /**
   * Reads a large result through a server-side cursor on this session, as
   * {@link DbManager.stream} does: the next batch is fetched only after the consumer took the
   * previous one. In a transaction the cursor sees the transaction's snapshot.
   */
  stream<T extends object = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: { batchSize?: number; timeout?: number } = {},
  ): Observable<Row<T>> {
    checkStatement(sql, params);
    checkOptionKeys(options, ['batchSize', 'timeout'], 'stream');
    const batchSize = batchSizeOf(options, 'stream');
    const timeoutMillis = timeoutOf(options, 'stream');
    return this.#statement<T, Row<T>>('stream', sql, params, captureCallSite(this.stream, this.context.callSites), { batchSize, timeoutMillis }, rowsTo);
  }

  /**
   * Runs a `COPY … TO STDOUT` on this session, as {@link DbManager.copyTo} does: the data as
   * Buffers, the socket paused while `stage` is busy. In a transaction it sees the
   * transaction's snapshot.
   */
  copyTo(sql: string, params: readonly unknown[] = [], options: Omit<CopyToOptions, 'conn'> = {}): Observable<Buffer> {
    checkStatement(sql, params);
    checkOptionKeys(options, ['timeout', 'stage'], 'copyTo');
    const stage = stageOf(options, 'copyTo');
    const timeoutMillis = timeoutOf(options, 'copyTo');
    return this.#copy<Buffer>('copyTo', sql, params, captureCallSite(this.copyTo, this.context.callSites), timeoutMillis, (subscriber) => copyToConsumer(subscriber, stage));
  }

  /**
   * Runs a `COPY … FROM STDIN` fed from `source$` on this session, as {@link DbManager.copyFrom}
   * does, and emits the row count once. In a transaction the rows are part of it: a ROLLBACK
   * undoes them.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { concat } from 'rxjs';
   *
   * PgManager.getInstance()
   *   .transaction((tx) => concat(tx.command('TRUNCATE staging'), tx.copyFrom('COPY staging FROM STDIN', [[1, 'a'], [2, 'b']])))
   *   .subscribe();
   * ```
   */
  copyFrom(sql: string, source$: CopySource, options: Omit<CopyFromOptions, 'conn'> = {}): Observable<number> {
    checkStatement(sql, []);
    const source = checkCopySource(source$, 'copyFrom');
    checkOptionKeys(options, ['timeout', 'types'], 'copyFrom');
    const timeoutMillis = timeoutOf(options, 'copyFrom');
    const types = copyTypesOf(options, this.context.driver, 'copyFrom');
    return this.#copy<number>('copyFrom', sql, [], captureCallSite(this.copyFrom, this.context.callSites), timeoutMillis, () => copyFromFeeder(source, types));
  }

  /**
   * Runs several statements on this session in one round trip where the backend can pipeline
   * them, as {@link DbManager.batch} does, and emits one {@link BatchResult} per statement once
   * the batch has ended. Outside a transaction the batch is one (every statement or none); in a
   * transaction (`tx.batch`) it is part of it, and its `BEGIN` travels in the same round trip.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   *
   * PgManager.getInstance()
   *   .transaction((tx) =>
   *     tx.batch([
   *       ['UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1]],
   *       ['UPDATE accounts SET balance = balance + $1 WHERE id = $2', [10, 2]],
   *       ['SELECT id, balance FROM accounts WHERE id IN (1, 2) ORDER BY id'],
   *     ]),
   *   )
   *   .subscribe((result) => console.log(result.index, result.rows));
   * ```
   */
  batch<T extends object = Record<string, unknown>>(statements: readonly BatchStatement[], options: { timeout?: number } = {}): Observable<BatchResult<T>> {
    const entries = batchEntriesOf(statements, 'batch');
    checkOptionKeys(options, ['timeout'], 'batch');
    const timeoutMillis = timeoutOf(options, 'batch');
    const site = captureCallSite(this.batch, this.context.callSites);
    return new Observable<BatchResult<T>>((subscriber) => {
      if (this.#ended) {
        subscriber.error(leaseEnded(this.context.conn));
        return;
      }
      if (entries.length === 0) {
        subscriber.complete();
        return;
      }
      const tracker = this.context.hooks.hooks?.start({
        kind: 'batch',
        method: 'batch',
        target: this.context.target,
        sql: undefined,
        batch: entries.map((entry) => entry.sql),
        parent: this.operation,
      });
      const handle = runBatch<T>(this.session, entries, subscriber, this.context, {
        site,
        scope: this.scope,
        timeoutMillis,
        defaultTimeoutMillis: this.context.statementTimeoutMillis,
        tracker,
        transaction: batchTransaction(this.context),
      });
      return () => handle.abandon();
    });
  }

  /** One COPY on this session: given up (CopyFail or cancel) on unsubscribe. */
  #copy<R>(
    method: 'copyTo' | 'copyFrom',
    sql: string,
    params: readonly unknown[],
    site: CallSite,
    timeoutMillis: number | undefined,
    direction: (subscriber: Subscriber<R>) => CopyDirection,
  ): Observable<R> {
    return new Observable<R>((subscriber) => {
      if (this.#ended) {
        subscriber.error(leaseEnded(this.context.conn));
        return;
      }
      const tracked = trackedCopy(this.context.hooks.hooks?.start({ kind: 'copy', method, target: this.context.target, sql, parent: this.operation }), copySubscriber(method, subscriber));
      return tracked.cancelled(
        runCopy(this.session, sql, params, direction(subscriber), tracked.target, this.context, {
          method,
          site,
          scope: this.scope,
          timeoutMillis,
          defaultTimeoutMillis: this.context.statementTimeoutMillis,
        }),
      );
    });
  }

  /** One statement on this session, cancelled (or its cursor closed) on unsubscribe. */
  #statement<T extends object, R>(
    method: string,
    sql: string,
    params: readonly unknown[],
    site: CallSite,
    options: { batchSize?: number; timeoutMillis?: number },
    target: (subscriber: Subscriber<R>) => StatementTarget<T>,
  ): Observable<R> {
    return new Observable<R>((subscriber) => {
      if (this.#ended) {
        subscriber.error(leaseEnded(this.context.conn));
        return;
      }
      const tracker = this.context.hooks.hooks?.start({
        kind: options.batchSize === undefined ? 'statement' : 'stream',
        method,
        target: this.context.target,
        sql,
        parent: this.operation,
      });
      const handle = runStatement<T>(
        this.session,
        sql,
        params,
        target(subscriber),
        this.context,
        // Spelled out rather than spread: this runs once per statement.
        {
          site,
          scope: this.scope,
          batchSize: options.batchSize,
          timeoutMillis: options.timeoutMillis,
          defaultTimeoutMillis: this.context.statementTimeoutMillis,
          tracker,
        },
      );
      return () => handle.abandon();
    });
  }

  /**
   * The seed's `curs.execute(sql, params)`: the same as {@link Connection.query}, rows. For a
   * statement's row count use {@link Connection.command}.
   */
  execute<T extends object = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: { timeout?: number } = {}): Observable<Row<T>> {
    return this.query<T>(sql, params, options);
  }

  /** @internal Called by the scope when the lease ends. */
  end(): void {
    this.#ended = true;
  }

  /** @internal */
  get ended(): boolean {
    return this.#ended;
  }

  /** `util.inspect` shows the config and the server's process id. */
  [inspect.custom](): string {
    return `${this.constructor.name} { conn: '${this.context.conn}', processId: ${this.processId}${this.#ended ? ', ended' : ''} }`;
  }
}

function rowsTo<T extends object>(subscriber: Subscriber<Row<T>>): StatementTarget<T> {
  return { next: (row) => subscriber.next(row), error: (error) => subscriber.error(error), complete: () => subscriber.complete() };
}

function leaseEnded(conn: string): RxpgError {
  return new RxpgError(
    'RXPG_LEASE',
    'closed',
    `This connection of '${conn}' was used after its lease ended (its scope completed or was unsubscribed). ` +
      `Run statements inside the scope's callback.`,
    { conn },
  );
}

/** A cursor scope's handle: `curs.execute(sql, params)` as in PgManager. */
export type Cursor = Connection;
