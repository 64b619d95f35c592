import { inspect } from 'node:util';
import { Observable } from 'rxjs';
import { captureCallSite, type CallSite } from '../errors/call-site.js';
import { RxpgError } from '../errors/rxpg-error.js';
import type { LeaseScope } from '../pool/lease-scope.js';
import type { Session } from '../pool/session.js';
import type { Row } from '../rows/ordered-row.js';
import { checkStatement } from './check-statement.js';
import { batchSizeOf, checkOptionKeys, timeoutOf } from './query-options.js';
import { runStatement } from './run-statement.js';
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
    return this.#statement<T>(sql, params, captureCallSite(this.query, this.context.callSites), { timeoutMillis });
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
    return this.#statement<T>(sql, params, captureCallSite(this.stream, this.context.callSites), { batchSize, timeoutMillis });
  }

  /** One statement on this session, cancelled (or its cursor closed) on unsubscribe. */
  #statement<T extends object>(
    sql: string,
    params: readonly unknown[],
    site: CallSite,
    options: { batchSize?: number; timeoutMillis?: number },
  ): Observable<Row<T>> {
    return new Observable<Row<T>>((subscriber) => {
      if (this.#ended) {
        subscriber.error(leaseEnded(this.context.conn));
        return;
      }
      const handle = runStatement<T>(
        this.session,
        sql,
        params,
        { next: (row) => subscriber.next(row), error: (error) => subscriber.error(error), complete: () => subscriber.complete() },
        this.context,
        // Spelled out rather than spread: this runs once per statement.
        {
          site,
          scope: this.scope,
          batchSize: options.batchSize,
          timeoutMillis: options.timeoutMillis,
          defaultTimeoutMillis: this.context.statementTimeoutMillis,
        },
      );
      return () => handle.abandon();
    });
  }

  /** The seed's `curs.execute(sql, params)`: the same as {@link Connection.query}. */
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
