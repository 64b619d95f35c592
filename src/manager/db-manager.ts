import { inspect } from 'node:util';
import { asyncScheduler, defer, Observable, Subject, tap, timer, type ObservableInput, type SchedulerLike, type Subscriber } from 'rxjs';
import type { Driver, TransactionSettings } from '../driver/driver.js';
import { captureCallSite, withCallSite, type CallSite } from '../errors/call-site.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { PoolError, type PoolState } from '../errors/pool-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { describeScopeBypass, type DbEvent, type EmitEvent, type ScopeBypassEvent } from '../events/db-event.js';
import { holdLease } from '../pool/hold-lease.js';
import type { Lease, SharedStatement } from '../pool/lease.js';
import type { Session } from '../pool/session.js';
import { LeaseScope, type ScopeKind } from '../pool/lease-scope.js';
import { Pool } from '../pool/pool.js';
import { PoolCounters } from '../pool/pool-counters.js';
import type { Row } from '../rows/ordered-row.js';
import { batchEntriesOf, type BatchOptions, type BatchResult, type BatchStatement } from './batch-statements.js';
import { checkStatement } from './check-statement.js';
import { summaryTo, type CommandResult } from './command-result.js';
import { resolveConnConfig, type ConnConfig } from './conn-config.js';
import type { ConnOptions } from './conn-options.js';
import { ConnRegistry } from './conn-registry.js';
import { checkMillis } from './durations.js';
import { registerHooksSlot, type HooksSlot, type ManagerHooks, type OperationKind, type OperationTracker } from './manager-hooks.js';
import { poolStatsDiffer, poolStatsOf, type PoolStats } from './pool-stats.js';
import { Connection, type Cursor } from './connection.js';
import { copyFromFeeder } from './copy-from-feeder.js';
import { copyTypesOf, stageOf, type CopyFromOptions, type CopyToOptions } from './copy-options.js';
import { checkCopySource, type CopySource } from './copy-source.js';
import { copyToConsumer } from './copy-to-consumer.js';
import { copySubscriber, runCopy, trackedCopy, type CopyDirection } from './run-copy.js';
import { batchSizeOf, checkOptionKeys, timeoutOf, type QueryOptions, type StreamOptions } from './query-options.js';
import { batchTransaction, runBatch } from './run-batch.js';
import { runStatement, type StatementTarget } from './run-statement.js';
import { scopedLease } from './scoped-lease.js';
import type { StatementContext } from './statement-context.js';
import { transactionBody, type Transaction, type TransactionOptions } from './transaction.js';

/** Options of a manager instance (rarely needed; tests use `scheduler`). */
export interface ManagerOptions {
  /**
   * The backend, when not the manager's own (pg for PgManager, mysql2 for MyManager): a
   * `ScriptedDriver` from `rxpg/testing` for tests without a database.
   */
  readonly driver?: Driver;
  /** Where every timer of this manager runs (acquire and connect deadlines, idle timeouts, cancel grace). */
  readonly scheduler?: SchedulerLike;
  /** How long a cancelled statement may take to end before its session is destroyed. Default 5000 ms. */
  readonly cancelGraceMillis?: number;
  /** How long `close()` waits for leased sessions and polite goodbyes before destroying sockets. Default 5000 ms. */
  readonly closeGraceMillis?: number;
  /**
   * How much later than the server's `statement_timeout` the client-side timer of a `timeout`
   * fires: the server normally reports the timeout; the client's timer is the backstop for a
   * server or network that stopped answering. Default 100 ms.
   */
  readonly clientTimeoutGraceMillis?: number;
  /**
   * Whether each statement records where your code created it, so that its error's stack
   * points there and not at the protocol parser. Default true. The stack walk costs 2–4 µs of
   * CPU per statement from cold code and 10–15 µs from a hot loop V8 has optimised (about a
   * quarter of a point query's client CPU in the bench, where pg.Pool records none): turn it
   * off for throughput once errors are well understood.
   */
  readonly callSites?: boolean;
  /**
   * What happens when a statement or scope of a config is started from inside a transaction,
   * cursor or connection scope of the same config without the scope's handle (`pgm.query()`
   * where `tx.query()` was meant): it would run on another session, outside the transaction, and
   * wait forever for the transaction's row locks. `'warn'` (default): a `scope_bypass` event,
   * which {@link logEventsTo} logs as a warning, and the statement goes on. `'error'`: the
   * statement fails at once with a {@link PoolError} (reason `scope_bypass`). `'off'`: neither.
   * The scope is followed across awaits with AsyncLocalStorage: about 10 ns per statement, and
   * from the first scope on, Node 20's promise hooks add about 70 ns to each promise of the
   * process (no difference measurable per query). `'off'` does without; then only a pool of one
   * held by synchronously running scope code is detected (`pool_deadlock`).
   */
  readonly scopeBypass?: 'warn' | 'error' | 'off';
}

/** The handle method each kind of scope offers for its statements. */
const SCOPE_HANDLES: Readonly<Record<ScopeKind, ScopeBypassEvent['use']>> = { transaction: 'tx.query', cursor: 'curs.execute', connection: 'conn.query' };
const SCOPE_BYPASS_MODES = ['warn', 'error', 'off'];

/** Rows to the subscriber, as they are parsed. */
function rowsTo<T extends object>(subscriber: Subscriber<Row<T>>): StatementTarget<T> {
  return { next: (row) => subscriber.next(row), error: (error) => subscriber.error(error), complete: () => subscriber.complete() };
}

const TRANSACTION_OPTION_KEYS = ['conn', 'isolationLevel', 'readOnly', 'deferrable'];
const TRANSACTION_LEVELS = ['read_committed', 'repeatable_read', 'serializable'];
const BATCH_OPTION_KEYS = ['conn', 'timeout', 'isolationLevel', 'readOnly', 'deferrable'];

/**
 * What PgManager and MyManager share: named configs, one pool per config, cold queries, lease,
 * cursor and transaction scopes, events. The backend is the {@link Driver} it is built with.
 * Use it as a type for code that works with either backend.
 *
 * @example
 * ```ts
 * import { PgManager, type DbManager } from 'rxpg';
 * import { count } from 'rxjs';
 *
 * const countRows = (db: DbManager, table: string) => db.query(`SELECT * FROM ${table}`).pipe(count());
 * countRows(PgManager.getInstance(), 'users').subscribe(console.log);
 * ```
 * @see {@link PgManager}
 */
export class DbManager {
  /**
   * Every query, error, notice, connect, acquire and release of this manager, as a hot
   * observable. Events are only built while someone subscribes.
   * @see {@link logEventsTo}
   */
  readonly events$: Observable<DbEvent>;
  readonly #driver: Driver;
  readonly #registry = new ConnRegistry();
  /** One pool per config name, with the statement context its sessions run with. */
  readonly #pools = new Map<string, { readonly pool: Pool; readonly context: StatementContext }>();
  readonly #events = new Subject<DbEvent>();
  readonly #scheduler: SchedulerLike;
  readonly #cancelGraceMillis: number;
  readonly #closeGraceMillis: number;
  readonly #clientTimeoutGraceMillis: number;
  readonly #callSites: boolean;
  readonly #scopeBypass: 'warn' | 'error' | 'off';
  /** What each config's pools counted so far; outlives a pool that closeConn() replaced. */
  readonly #counters = new Map<string, PoolCounters>();
  /** Instrumentation (rxpg/opentelemetry), usually none: read once per operation. */
  readonly #hooks: HooksSlot;
  #closed = false;
  /** The hooks' way to open a session, when they have one (see {@link ManagerHooks.openSession}). */
  readonly #openOutside = (): (<R>(open: () => R) => R) | undefined => {
    const hooks = this.#hooks.hooks;
    return hooks?.openSession === undefined ? undefined : (open) => (hooks.openSession as <R>(open: () => R) => R)(open);
  };
  readonly #emit: EmitEvent = (build) => {
    const hooks = this.#hooks.hooks;
    if (hooks?.event === undefined) {
      if (this.#events.observed) this.#events.next(build());
      return;
    }
    const event = build();
    hooks.event(event);
    if (this.#events.observed) this.#events.next(event);
  };

  /** @internal */
  protected constructor(driver: Driver, options: ManagerOptions = {}) {
    const constructing = `new ${new.target.name}`;
    checkOptionKeys(options, ['driver', 'scheduler', 'cancelGraceMillis', 'closeGraceMillis', 'clientTimeoutGraceMillis', 'callSites', 'scopeBypass'], constructing);
    if (options.callSites !== undefined && typeof options.callSites !== 'boolean') {
      throw new ConfigurationError(`${constructing}: callSites must be true or false, not ${JSON.stringify(options.callSites)}.`);
    }
    this.#driver = driver;
    this.#scheduler = options.scheduler ?? asyncScheduler;
    const where = `${constructing}: `;
    this.#cancelGraceMillis = checkMillis(options.cancelGraceMillis ?? 5000, 'cancelGraceMillis', where, { min: 0 });
    this.#closeGraceMillis = checkMillis(options.closeGraceMillis ?? 5000, 'closeGraceMillis', where, { min: 0 });
    this.#clientTimeoutGraceMillis = checkMillis(options.clientTimeoutGraceMillis ?? 100, 'clientTimeoutGraceMillis', where, { min: 0 });
    this.#callSites = options.callSites ?? true;
    if (options.scopeBypass !== undefined && !SCOPE_BYPASS_MODES.includes(options.scopeBypass)) {
      throw new ConfigurationError(`${constructing}: scopeBypass must be 'warn', 'error' or 'off', not ${JSON.stringify(options.scopeBypass)}.`);
    }
    this.#scopeBypass = options.scopeBypass ?? 'warn';
    this.events$ = this.#events.asObservable();
    const slot: HooksSlot = {
      hooks: undefined,
      changed: () => {
        const clientCall = slot.hooks?.clientCall?.bind(slot.hooks);
        driver.wrapClientCalls?.(clientCall);
      },
    };
    this.#hooks = slot;
    registerHooksSlot(this, slot);
  }

  /**
   * Registers a named connection config. Never connects: sessions open when a query, scope or
   * lease first needs one. Bad options throw a {@link ConfigurationError} at once.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   *
   * const pgm = PgManager.getInstance();
   * pgm.createConn({ name: 'thatdb', host: '127.0.0.1', database: 'postgres', isolationLevel: 'autocommit' });
   * pgm.createConn({ name: 'reports', copyDsn: 'thatdb', poolSize: 2, statementTimeout: 20_000 });
   * ```
   * @see {@link DbManager.closeConn}
   */
  createConn(options: ConnOptions): void {
    const config = this.resolveConn(options);
    this.checkNameFree(config.name);
    this.#registry.add(config);
  }

  /** @internal Validates and resolves connection options as `createConn` does, registering nothing. */
  protected resolveConn(options: ConnOptions): ConnConfig {
    return resolveConnConfig(options, (name) => this.#registry.get(name), (source, settings, conn) => this.#driver.resolveConnection(source, settings, conn));
  }

  /** @internal Throws when `name` is taken by something other than a pooled config (a listen config). */
  protected checkNameFree(name: string): void {
    void name;
  }

  /**
   * @internal Throws the typed error of a manager closed by `close()`: what `method` started on
   * config `conn` is refused. Called when an observable is subscribed.
   */
  protected checkOpen(method: string, conn: string): void {
    if (!this.#closed) return;
    const manager = this.constructor.name;
    throw new RxpgError(
      'RXPG_MANAGER',
      'closed',
      `${method}() on a ${manager} that was closed: close() ends a manager for good, and ${manager}.getInstance() keeps ` +
        `returning it. Make a new ${manager}() (and createConn() on it) for more work, or close pools with ` +
        `closeConn(name), which keeps the manager usable and reopens the pool on its next query.`,
      { conn },
    );
  }

  /** @internal Whether a pooled config called `name` is registered. */
  protected hasConn(name: string): boolean {
    return this.#registry.has(name);
  }

  /** @internal What subclasses build their own sessions with. */
  protected get runtime(): { driver: Driver; scheduler: SchedulerLike; cancelGraceMillis: number; emit: EmitEvent } {
    return { driver: this.#driver, scheduler: this.#scheduler, cancelGraceMillis: this.#cancelGraceMillis, emit: this.#emit };
  }

  /** Names of the registered connection configs. */
  connNames(): string[] {
    return this.#registry.names();
  }

  /** A snapshot of the pool of `name` (all zero before its first session). */
  poolState(name = 'default'): PoolState {
    const config = this.#registry.get(name);
    return this.#pools.get(name)?.pool.state ?? { size: config.poolSize, total: 0, inUse: 0, idle: 0, waiting: 0 };
  }

  /**
   * The figures of the pool of `name`, for a health endpoint: what {@link DbManager.poolState}
   * says (sessions open, idle, in use, lease requests waiting) and what happened so far
   * (sessions opened, failed connects, acquire timeouts, acquire waits). No query is run; an
   * unknown name throws a {@link ConfigurationError}.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   *
   * const pgm = new PgManager();
   * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', poolSize: 5 });
   * const { size, inUse, waiting, timeouts } = pgm.poolStats();
   * console.log(`${inUse}/${size} in use, ${waiting} waiting, ${timeouts} timeouts`);   // 0/5 in use, 0 waiting, 0 timeouts
   * ```
   * @see {@link PoolStats}
   * @see {@link DbManager.poolStats$}
   */
  poolStats(name = 'default'): PoolStats {
    const state = this.poolState(name);
    const pool = this.#pools.get(name)?.pool;
    return poolStatsOf(name, state, pool?.connecting ?? 0, this.#counters.get(name));
  }

  /**
   * The figures of the pool of `name` as a cold observable: the current {@link PoolStats} at
   * once, then, sampled every `intervalMillis` (default 1000) on the manager's scheduler, each
   * time any figure differs from the last one emitted. A quiet pool emits nothing after the
   * first. It completes when the config is destroyed (`destroyConn`). The interval keeps the
   * process alive while subscribed, as any timer does: end it with `take`, `takeUntil` or
   * `unsubscribe()`.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { take } from 'rxjs';
   *
   * const pgm = new PgManager();
   * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
   * pgm.poolStats$('default', { intervalMillis: 5000 })
   *   .pipe(take(1))
   *   .subscribe(({ inUse, size, waiting }) => console.log(`${inUse}/${size} in use, ${waiting} waiting`));   // 0/10 in use, 0 waiting
   * ```
   * @see {@link DbManager.poolStats}
   */
  poolStats$(name = 'default', options: { intervalMillis?: number } = {}): Observable<PoolStats> {
    checkOptionKeys(options, ['intervalMillis'], 'poolStats$');
    const intervalMillis = checkMillis(options.intervalMillis ?? 1000, 'intervalMillis', 'poolStats$: ', { min: 1 });
    this.#registry.get(name);
    return new Observable<PoolStats>((subscriber) => {
      let last = this.poolStats(name);
      subscriber.next(last);
      return timer(intervalMillis, intervalMillis, this.#scheduler).subscribe(() => {
        // A config destroyed since: its stats end with it.
        if (!this.#registry.has(name)) return subscriber.complete();
        const now = this.poolStats(name);
        if (!poolStatsDiffer(now, last)) return;
        last = now;
        subscriber.next(now);
      });
    });
  }

  /**
   * Closes the pool of `name`: waiting lease requests fail, idle sessions close, leased ones
   * close when returned (or are destroyed after the close grace). The config stays registered
   * and the manager stays usable: a later query opens a new pool. This is the way to close
   * sessions and go on; {@link DbManager.close} closes the manager for good.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   *
   * await PgManager.getInstance().closeConn('thatdb');
   * ```
   * @see {@link DbManager.destroyConn}
   */
  closeConn(name = 'default'): Promise<void> {
    this.#registry.get(name);
    const entry = this.#pools.get(name);
    this.#pools.delete(name);
    return entry ? entry.pool.close() : Promise.resolve();
  }

  /** Closes the pool of `name` as {@link DbManager.closeConn} does and forgets the config. */
  destroyConn(name = 'default'): Promise<void> {
    const closed = this.closeConn(name);
    this.#registry.delete(name);
    this.#counters.delete(name);
    return closed;
  }

  /**
   * Ends every session of this manager and resolves when the server has none left (within the
   * close grace even if the server is gone), and closes the manager for good: from then on every
   * query, stream and scope of it fails, when subscribed, with an {@link RxpgError} of code
   * `RXPG_MANAGER` and reason `closed`, instead of silently opening new sessions.
   * `getInstance()` keeps returning the closed manager; make a `new PgManager()` (or
   * `new MyManager()`) for more work, or use {@link DbManager.closeConn} to close pools and go
   * on. Closing again resolves at once. A process needs no `close()` to exit: idle sessions do
   * not keep it alive.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   *
   * process.on('SIGTERM', () => void PgManager.getInstance().close());
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(entries.map((entry) => entry.pool.close()));
  }

  /**
   * Runs one statement with bound parameters: a cold `Observable<Row>` that leases a session on
   * subscribe, emits each row as it is parsed, returns the lease and completes. Each
   * subscription runs the statement again. Unsubscribing while it runs cancels it on the server
   * and the session goes back clean.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { filter, map, toArray } from 'rxjs';
   *
   * const pgm = PgManager.getInstance();
   * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
   * pgm.query<{ id: number; name: string }>('SELECT id, name FROM users WHERE active = $1', [true])
   *   .pipe(filter((row) => row.id > 10), map((row) => row.name), toArray())
   *   .subscribe(console.log);
   * ```
   * @see {@link DbManager.transaction} to run several statements atomically
   */
  query<T extends object = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Observable<Row<T>> {
    const { conn, timeoutMillis } = this.#checkedStatement('query', sql, params, options);
    const site = captureCallSite(this.query, this.#callSites);
    return this.#leasedStatement<T, Row<T>>('query', conn, sql, params, { site, timeoutMillis }, rowsTo);
  }

  /**
   * Runs one statement for its effect (UPDATE, DELETE, INSERT without RETURNING, DDL): a cold
   * `Observable<CommandResult>` that emits exactly one `{ command, rowCount }` when the statement
   * has ended and completes, so `firstValueFrom` and `lastValueFrom` resolve with it instead of
   * failing with RxJS's `EmptyError`. Rows the statement returns are counted, not kept: use
   * {@link DbManager.query} for `RETURNING`. Leasing, cancel on unsubscribe, `timeout` and errors
   * are those of `query()`.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { firstValueFrom } from 'rxjs';
   *
   * const pgm = new PgManager();
   * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
   * const { rowCount } = await firstValueFrom(pgm.command('UPDATE jobs SET done = true WHERE id = $1', [7]));
   * console.log(`${rowCount} job(s) marked done`);
   * await pgm.close();
   * ```
   * @see {@link Connection.command} for a statement inside a `connection()` or `transaction()` scope
   */
  command(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Observable<CommandResult> {
    const { conn, timeoutMillis } = this.#checkedStatement('command', sql, params, options);
    const site = captureCallSite(this.command, this.#callSites);
    return this.#leasedStatement<Record<string, unknown>, CommandResult>('command', conn, sql, params, { site, timeoutMillis }, summaryTo);
  }

  /** Checks a `query()` or `command()` call: its statement, options and config; the config and timeout it runs with. */
  #checkedStatement(method: 'query' | 'command', sql: string, params: readonly unknown[], options: QueryOptions): { conn: string; timeoutMillis: number | undefined } {
    checkStatement(sql, params);
    checkOptionKeys(options, ['conn', 'timeout'], method);
    const timeoutMillis = timeoutOf(options, method);
    const conn = options.conn ?? 'default';
    this.#registry.get(conn);
    return { conn, timeoutMillis };
  }

  /**
   * Reads a large result through a server-side cursor, `batchSize` rows per round trip: a cold
   * `Observable<Row>` emitting each row as it is parsed. The next batch is fetched only after
   * the consumer has taken every row of the previous one, so a synchronous consumer (`map`,
   * `filter`, `reduce`, a write to a buffer) keeps memory bounded whatever the result's size.
   * For asynchronous work per row or batch use {@link DbManager.streamBatches}, which waits
   * for that work before fetching more. `take`, `first`, an error downstream or unsubscribe
   * close the cursor (or cancel the running fetch) and the session goes back clean.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { reduce } from 'rxjs';
   *
   * PgManager.getInstance()
   *   .stream<{ amount: number }>('SELECT amount FROM payments', [], { batchSize: 5000 })
   *   .pipe(reduce((sum, row) => sum + row.amount, 0))
   *   .subscribe((total) => console.log(total));
   * ```
   * @see {@link DbManager.query} for results that fit in memory
   */
  stream<T extends object = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: StreamOptions = {}): Observable<Row<T>> {
    checkStatement(sql, params);
    checkOptionKeys(options, ['conn', 'batchSize', 'timeout'], 'stream');
    const batchSize = batchSizeOf(options, 'stream');
    const timeoutMillis = timeoutOf(options, 'stream');
    const conn = options.conn ?? 'default';
    this.#registry.get(conn);
    const site = captureCallSite(this.stream, this.#callSites);
    // A cursor with no `suspended` handler fetches the next batch as soon as the (synchronous)
    // pipeline has taken every row of the last one.
    return this.#leasedStatement<T, Row<T>>('stream', conn, sql, params, { site, batchSize, timeoutMillis }, rowsTo);
  }

  /**
   * The demand-driven form of {@link DbManager.stream} for asynchronous consumers: `stage` gets
   * each batch of rows and returns an ObservableInput (an Observable, a Promise, an array); the
   * next batch is fetched only when it has completed. Its values are emitted in order. At most
   * one batch is in memory however slow the stage is. An error in a stage ends the stream and
   * closes the cursor.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { concatMap, from } from 'rxjs';
   *
   * // Write 1,000 rows at a time to a slow sink; the database waits for it.
   * PgManager.getInstance()
   *   .streamBatches('SELECT * FROM events ORDER BY id', [], (rows) => sink.writeMany(rows.map((row) => row.toObject())), { batchSize: 1000 })
   *   .subscribe({ complete: () => console.log('exported') });
   *
   * // Async work per row, one row at a time, still bounded by the batch:
   * PgManager.getInstance().streamBatches<{ id: number }, void>('SELECT id FROM users', [], (rows) => from(rows).pipe(concatMap((row) => notify(row.id))));
   * ```
   * The row type comes first, as in {@link DbManager.query}: `streamBatches<User>(…)`. TypeScript
   * infers no type argument once one is given, so name the stage's value type too
   * (`streamBatches<User, number>`), or leave both out and type the stage's parameter
   * (`(rows: Row<User>[]) => …`).
   *
   * @see {@link DbManager.stream}
   */
  streamBatches<T extends object = Record<string, unknown>, R = unknown>(
    sql: string,
    params: readonly unknown[],
    stage: (rows: Row<T>[]) => ObservableInput<R>,
    options: StreamOptions = {},
  ): Observable<R> {
    checkStatement(sql, params);
    if (typeof stage !== 'function') throw new ConfigurationError('streamBatches(sql, params, stage, options?): stage must be a function (rows) => ObservableInput.');
    checkOptionKeys(options, ['conn', 'batchSize', 'timeout'], 'streamBatches');
    const batchSize = batchSizeOf(options, 'streamBatches');
    const timeoutMillis = timeoutOf(options, 'streamBatches');
    const conn = options.conn ?? 'default';
    this.#registry.get(conn);
    const site = captureCallSite(this.streamBatches, this.#callSites);
    return this.#leasedStatement<T, R>(
      'streamBatches',
      conn,
      sql,
      params,
      { site, batchSize, timeoutMillis },
      (subscriber) => {
        let batch: Row<T>[] = [];
        const runStage = (then: () => void): void => {
          const rows = batch;
          batch = [];
          if (rows.length === 0) return then();
          subscriber.add(
            // defer: a stage that throws becomes this stream's error, never the protocol parser's.
            defer(() => stage(rows)).subscribe({
              next: (value) => subscriber.next(value),
              error: (error: unknown) => subscriber.error(error),
              complete: then,
            }),
          );
        };
        return {
          next: (row) => batch.push(row),
          suspended: (control) => runStage(() => control.fetch()),
          error: (error) => subscriber.error(error),
          complete: () => runStage(() => subscriber.complete()),
        };
      },
    );
  }

  /**
   * Runs a `COPY … TO STDOUT` and emits its data as it arrives: a cold `Observable<Buffer>`,
   * each Buffer the whole rows (in the format the statement asks for: text, CSV, binary) of one
   * socket read. A synchronous pipeline is bounded by construction; for an asynchronous sink
   * pass `stage`: the socket is paused until the stage's Observable or Promise completes, so
   * the server waits for a slow disk instead of memory filling up, as with
   * {@link DbManager.streamBatches}. Unsubscribing (`take`, an error in a stage) cancels the
   * COPY on the server and the session goes back clean. One `query` event with the row count
   * when it completes. PgManager only: MyManager fails it with a `QueryError` of reason
   * `unsupported` (its `stream()` is MySQL's export with demand).
   * Postgres binds no parameters in a COPY: `params` stays empty in practice.
   *
   * @example
   * ```ts
   * import { once } from 'node:events';
   * import { createWriteStream } from 'node:fs';
   * import { PgManager } from 'rxpg';
   * import { lastValueFrom, reduce } from 'rxjs';
   *
   * const pgm = new PgManager();
   * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
   * const file = createWriteStream('users.csv');
   * const bytes = await lastValueFrom(
   *   pgm.copyTo('COPY users TO STDOUT (FORMAT csv, HEADER)', [], { stage: (chunk) => file.write(chunk) || once(file, 'drain') })
   *     .pipe(reduce((sum, chunk) => sum + chunk.length, 0)),
   * );
   * file.end();
   * await pgm.close();
   * ```
   * @see {@link DbManager.copyFrom}
   */
  copyTo(sql: string, params: readonly unknown[] = [], options: CopyToOptions = {}): Observable<Buffer> {
    checkStatement(sql, params);
    checkOptionKeys(options, ['conn', 'timeout', 'stage'], 'copyTo');
    const stage = stageOf(options, 'copyTo');
    const timeoutMillis = timeoutOf(options, 'copyTo');
    const conn = options.conn ?? 'default';
    this.#registry.get(conn);
    const site = captureCallSite(this.copyTo, this.#callSites);
    return this.#leasedCopy<Buffer>('copyTo', conn, sql, params, site, timeoutMillis, (subscriber) => copyToConsumer(subscriber, stage));
  }

  /**
   * Runs a `COPY … FROM STDIN` fed from `source$`, and emits the number of rows the server
   * copied, once, when it has committed them. `source$` emits Buffers or strings (data in the
   * statement's format, CSV say, sent as they are), or rows as arrays of values, which rxpg
   * encodes in COPY's text format (`null` is `\N`; Dates, Buffers, arrays and objects as they
   * are bound as parameters). An iterable, a generator, an async iterable or a Node Readable
   * is pulled only as fast as the socket drains; an Observable has no demand signal, so what it
   * emits faster than the server takes it waits in memory. Unsubscribing sends a CopyFail: the
   * server rolls the COPY back and the session goes back clean. With `types` (Postgres, a
   * `COPY … (FORMAT binary)`), rows go in COPY's binary format instead, one type per column
   * (see {@link CopyFromOptions.types}). An error of `source$` does the
   * same, and is the error you get. A row the server rejects fails with a `QueryError` whose
   * `where` says `COPY t, line N`. On MyManager the statement is a `LOAD DATA LOCAL INFILE`
   * (any file name), fed the same way; an abort there is a `KILL QUERY` before the data ends.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { firstValueFrom } from 'rxjs';
   *
   * const pgm = new PgManager();
   * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
   * function* rows() {
   *   for (let id = 1; id <= 100_000; id++) yield [id, `user ${id}`, id % 2 === 0 ? null : new Date()];
   * }
   * const copied = await firstValueFrom(pgm.copyFrom('COPY people (id, name, seen) FROM STDIN', rows()));
   * await pgm.close();
   * ```
   * @see {@link DbManager.copyTo}
   */
  copyFrom(sql: string, source$: CopySource, options: CopyFromOptions = {}): Observable<number> {
    checkStatement(sql, []);
    const source = checkCopySource(source$, 'copyFrom');
    checkOptionKeys(options, ['conn', 'timeout', 'types'], 'copyFrom');
    const timeoutMillis = timeoutOf(options, 'copyFrom');
    const types = copyTypesOf(options, this.#driver, 'copyFrom');
    const conn = options.conn ?? 'default';
    this.#registry.get(conn);
    const site = captureCallSite(this.copyFrom, this.#callSites);
    return this.#leasedCopy<number>('copyFrom', conn, sql, [], site, timeoutMillis, () => copyFromFeeder(source, types));
  }

  /** A COPY on a leased session, as `#leasedStatement` runs a statement. */
  #leasedCopy<R>(
    method: 'copyTo' | 'copyFrom',
    conn: string,
    sql: string,
    params: readonly unknown[],
    site: CallSite,
    timeoutMillis: number | undefined,
    direction: (subscriber: Subscriber<R>) => CopyDirection,
  ): Observable<R> {
    return new Observable<R>((subscriber) => {
      try {
        this.checkOpen(method, conn);
      } catch (error) {
        subscriber.error(withCallSite(error as Error, site));
        return;
      }
      const { pool, context } = this.#pool(conn);
      const refused = this.#bypass(pool, conn, method, sql);
      if (refused) {
        subscriber.error(withCallSite(refused, site));
        return;
      }
      const tracked = trackedCopy(this.#hooks.hooks?.start({ kind: 'copy', method, target: context.target, sql, parent: undefined }), copySubscriber(method, subscriber));
      return tracked.cancelled(
        holdLease(
          pool,
          (session, lease) =>
            runCopy(session, sql, params, direction(subscriber), tracked.target, context, {
              method,
              site,
              timeoutMillis,
              defaultTimeoutMillis: context.statementTimeoutMillis,
              beforeEnd: () => lease.unsubscribe(),
            }),
          // No session: the tracker hears of it as of any failure.
          (error) => tracked.target.error(withCallSite(error as Error, site)),
        ),
      );
    });
  }

  /**
   * One statement on a leased session: leases on subscribe, runs, returns the lease before the
   * target hears of the end, and on unsubscribe abandons the statement (cancel or cursor close)
   * and returns the lease.
   */
  #leasedStatement<T extends object, R>(
    method: string,
    conn: string,
    sql: string,
    params: readonly unknown[],
    options: { site: CallSite; batchSize?: number; timeoutMillis?: number },
    target: (subscriber: Subscriber<R>) => StatementTarget<T>,
  ): Observable<R> {
    const kind: OperationKind = options.batchSize === undefined ? 'statement' : 'stream';
    return new Observable<R>((subscriber) => {
      if (this.#closed) {
        try {
          this.checkOpen(method, conn);
        } catch (error) {
          subscriber.error(withCallSite(error as Error, options.site));
          return;
        }
      }
      const { pool, context } = this.#pool(conn);
      const refused = this.#bypass(pool, conn, method, sql);
      if (refused) {
        subscriber.error(withCallSite(refused, options.site));
        return;
      }
      const tracker = this.#hooks.hooks?.start({ kind, method, target: context.target, sql, parent: undefined });
      // An independent statement: with the config's `pipeline`, it may share a busy session.
      const shared = context.pipelineDepth > 1 && options.batchSize === undefined && params.length > 0;
      const limited = options.timeoutMillis !== undefined || context.statementTimeoutMillis > 0;
      const statement = shared ? { sql, params, options: { timeoutMillis: options.timeoutMillis }, limited } : undefined;
      const busy = statement ? pool.sharedSession(statement) : undefined;
      if (busy !== undefined) {
        const handle = runStatement<T>(busy, sql, params, target(subscriber), context, {
          site: options.site,
          timeoutMillis: options.timeoutMillis,
          defaultTimeoutMillis: context.statementTimeoutMillis,
          tracker,
          shared,
        });
        return () => handle.abandon();
      }
      return holdTrackedLease(pool, tracker, options.site, subscriber, (session, lease) => {
        // Spelled out rather than spread: this runs once per query.
        const handle = runStatement<T>(session, sql, params, target(subscriber), context, {
          site: options.site,
          batchSize: options.batchSize,
          timeoutMillis: options.timeoutMillis,
          defaultTimeoutMillis: context.statementTimeoutMillis,
          beforeEnd: () => lease.unsubscribe(),
          tracker,
          shared,
        });
        return () => handle.abandon();
      }, statement);
    });
  }

  /**
   * A pool lease as an RxJS resource, held as `using` holds one. Without `fn`: emits the
   * {@link Connection} and holds the lease until unsubscribed. With `fn`: holds the lease for the
   * life of `fn(conn)`'s observable, emits its values and completes with it. Either way the lease
   * returns on complete, error and unsubscribe, also while it is still being acquired.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { concat } from 'rxjs';
   *
   * const pgm = PgManager.getInstance();
   * pgm.connection('default', (conn) =>
   *   concat(conn.query("SET application_name = 'report'"), conn.query('SELECT * FROM big_report')),
   * ).subscribe((row) => console.log(row));
   * ```
   * @see {@link DbManager.cursor}
   */
  connection(name?: string): Observable<Connection>;
  connection<R>(fn: (conn: Connection) => ObservableInput<R>): Observable<R>;
  connection<R>(name: string | undefined, fn: (conn: Connection) => ObservableInput<R>): Observable<R>;
  connection<R>(
    nameOrFn: string | undefined | ((conn: Connection) => ObservableInput<R>),
    maybeFn?: (conn: Connection) => ObservableInput<R>,
  ): Observable<Connection> | Observable<R> {
    // As cursor(): the config name may be left out before the function.
    const name = typeof nameOrFn === 'function' ? 'default' : nameOrFn ?? 'default';
    const fn = typeof nameOrFn === 'function' ? nameOrFn : maybeFn;
    this.#registry.get(name);
    if (fn !== undefined) return this.#connectionScope(name, fn, 'connection');
    return new Observable<Connection>((subscriber) => {
      this.checkOpen('connection', name);
      const { pool, context } = this.#pool(name);
      const refused = this.#bypass(pool, name, 'connection', undefined);
      if (refused) throw refused;
      return holdLease(
        pool,
        (session, lease) => {
          lease.scope.kind = 'connection';
          const connection = new Connection(session, lease.scope, context);
          // Whatever the subscriber starts from here holds this lease until it unsubscribes.
          lease.scope.inside(() => subscriber.next(connection));
          return () => connection.end();
        },
        (error) => subscriber.error(error),
      );
    });
  }

  /**
   * PgManager's `with pgm.cursor() as curs`: one lease for the scope and `curs.execute(sql,
   * params)`. Outside `autocommit` the scope is a transaction at the config's isolation level
   * (values are emitted after COMMIT, as with {@link DbManager.transaction}); under `autocommit`
   * each statement commits on its own and values flow as they come.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { first } from 'rxjs';
   *
   * const pgm = PgManager.getInstance();
   * pgm.createConn({ host: '127.0.0.1', dbname: 'postgres', isolationLevel: 'autocommit' });
   * pgm.cursor((curs) => curs.execute('SELECT now() AS now'))
   *   .pipe(first())
   *   .subscribe((row) => console.log(row.now));
   * ```
   */
  cursor<R>(fn: (curs: Cursor) => ObservableInput<R>): Observable<R>;
  cursor<R>(name: string | undefined, fn: (curs: Cursor) => ObservableInput<R>): Observable<R>;
  cursor<R>(nameOrFn: string | undefined | ((curs: Cursor) => ObservableInput<R>), maybeFn?: (curs: Cursor) => ObservableInput<R>): Observable<R> {
    const name = typeof nameOrFn === 'function' ? 'default' : nameOrFn ?? 'default';
    const fn = typeof nameOrFn === 'function' ? nameOrFn : maybeFn;
    if (typeof fn !== 'function') throw new ConfigurationError('cursor(name?, fn): fn must be a function (curs) => Observable.');
    const config = this.#registry.get(name);
    if (config.isolationLevel === 'autocommit') return this.#connectionScope(name, fn, 'cursor');
    return this.#transaction(fn, { conn: name }, 'cursor');
  }

  /**
   * Runs `fn(tx)` in a transaction on one session: BEGIN with the given options, COMMIT when its
   * observable completes, ROLLBACK when it errors or is unsubscribed. Values are held back and
   * emitted only after COMMIT succeeded, so a retry never sees values of a failed attempt.
   * Serialization failures and deadlocks error with `isRetryable: true`: pipe
   * {@link retryTransaction} to run the whole transaction again.
   *
   * @example
   * ```ts
   * import { PgManager, retryTransaction } from 'rxpg';
   * import { concat } from 'rxjs';
   *
   * PgManager.getInstance()
   *   .transaction(
   *     (tx) => concat(
   *       tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1]),
   *       tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [10, 2]),
   *     ),
   *     { isolationLevel: 'serializable' },
   *   )
   *   .pipe(retryTransaction({ maxAttempts: 5 }))
   *   .subscribe();
   * ```
   * @see {@link Transaction.savepoint}
   */
  transaction<R>(fn: (tx: Transaction) => ObservableInput<R>, options: TransactionOptions = {}): Observable<R> {
    return this.#transaction(fn, options, 'transaction');
  }

  #transaction<R>(fn: (tx: Transaction) => ObservableInput<R>, options: TransactionOptions, method: 'transaction' | 'cursor'): Observable<R> {
    if (typeof fn !== 'function') throw new ConfigurationError('transaction(fn, options?): fn must be a function (tx) => Observable.');
    checkOptionKeys(options, TRANSACTION_OPTION_KEYS, 'transaction');
    const conn = options.conn ?? 'default';
    const begin = this.#driver.beginTransaction(this.#transactionSettings(options, conn, 'transaction'));
    return defer(() => {
      this.checkOpen(method, conn);
      const { pool, context } = this.#pool(conn);
      const refused = this.#bypass(pool, conn, method, undefined);
      if (refused) throw refused;
      const tracker = this.#hooks.hooks?.start({ kind: 'transaction', method, target: context.target, sql: undefined, parent: undefined });
      let tx: Transaction | undefined;
      const scoped = scopedLease(
        pool,
        (session, scope) => {
          scope.kind = method;
          const body = transactionBody(session, scope, context, begin, fn, (created) => {
            tx = created;
            created.operation = tracker;
          });
          // Ended at COMMIT, before the held-back values flow (a consumer may leave after one).
          return tracker === undefined ? body : body.pipe(tap({ complete: () => tracker.succeeded(0), error: (error: unknown) => tracker.failed(error, 0) }));
        },
        { buffered: true, onEnd: () => tx?.end() },
      );
      return tracker === undefined ? scoped : trackedScope(scoped, tracker);
    });
  }

  /** A transaction's settings from its options, checked, with the config's isolation level as the default. */
  #transactionSettings(options: TransactionOptions, conn: string, method: string): TransactionSettings {
    const config = this.#registry.get(conn);
    if (options.isolationLevel !== undefined && !TRANSACTION_LEVELS.includes(options.isolationLevel)) {
      throw new ConfigurationError(`${method}: isolationLevel '${String(options.isolationLevel)}' is not one of ${TRANSACTION_LEVELS.join(', ')}.`, { conn });
    }
    return {
      isolationLevel: options.isolationLevel ?? (config.isolationLevel === 'autocommit' ? undefined : config.isolationLevel),
      readOnly: options.readOnly,
      deferrable: options.deferrable,
    };
  }

  /**
   * Runs several statements as one unit, in one round trip where the backend can pipeline them
   * (Postgres: one Parse/Bind/Execute per statement and one Sync; MySQL, which cannot, sends them
   * one after another on one session): a cold `Observable<BatchResult>` that emits one result
   * per statement, in order, once the batch has committed, and completes.
   *
   * The batch is one transaction: every statement or none. Without transaction options it is
   * the protocol's implicit transaction (no BEGIN or COMMIT is sent); with `isolationLevel`,
   * `readOnly` or `deferrable` its own `BEGIN` and `COMMIT` travel in the same round trip. A
   * failing statement fails the batch with a {@link BatchError} that names it (`index`, the
   * SQL); the statements after it do not run and nothing is committed. A session lost before
   * the server confirmed the end is `ConnectionError` `outcome_unknown`, as for a COMMIT.
   * Unsubscribing while it runs cancels it on the server (nothing is committed). Each
   * statement is one statement (no `;`-separated texts); a COPY … FROM STDIN or TO STDOUT cannot
   * be in a batch.
   *
   * @example
   * ```ts
   * import { PgManager, retryTransaction } from 'rxpg';
   * import { toArray } from 'rxjs';
   *
   * PgManager.getInstance()
   *   .batch([
   *     ['UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1]],
   *     ['UPDATE accounts SET balance = balance + $1 WHERE id = $2', [10, 2]],
   *     ['INSERT INTO transfers (from_id, to_id, amount) VALUES ($1, $2, $3) RETURNING id', [1, 2, 10]],
   *   ])
   *   .pipe(retryTransaction(), toArray())
   *   .subscribe((results) => console.log(results[2].rows[0].id));
   * ```
   * @see {@link Connection.batch} for a batch in a scope (`tx.batch` is part of the transaction)
   */
  batch<T extends object = Record<string, unknown>>(statements: readonly BatchStatement[], options: BatchOptions = {}): Observable<BatchResult<T>> {
    const entries = batchEntriesOf(statements, 'batch');
    checkOptionKeys(options, BATCH_OPTION_KEYS, 'batch');
    const timeoutMillis = timeoutOf(options, 'batch');
    const conn = options.conn ?? 'default';
    const asked = options.isolationLevel !== undefined || options.readOnly !== undefined || options.deferrable !== undefined;
    this.#registry.get(conn);
    const settings = asked ? this.#transactionSettings(options, conn, 'batch') : {};
    const site = captureCallSite(this.batch, this.#callSites);
    return new Observable<BatchResult<T>>((subscriber) => {
      if (this.#closed) {
        try {
          this.checkOpen('batch', conn);
        } catch (error) {
          subscriber.error(withCallSite(error as Error, site));
          return;
        }
      }
      if (entries.length === 0) {
        subscriber.complete();
        return;
      }
      const { pool, context } = this.#pool(conn);
      const refused = this.#bypass(pool, conn, 'batch', entries[0].sql);
      if (refused) {
        subscriber.error(withCallSite(refused, site));
        return;
      }
      const tracker = this.#hooks.hooks?.start({ kind: 'batch', method: 'batch', target: context.target, sql: undefined, batch: entries.map((entry) => entry.sql), parent: undefined });
      return holdTrackedLease(pool, tracker, site, subscriber, (session, lease) => {
        const handle = runBatch<T>(session, entries, subscriber, context, {
          site,
          timeoutMillis,
          defaultTimeoutMillis: context.statementTimeoutMillis,
          beforeEnd: () => lease.unsubscribe(),
          tracker,
          transaction: batchTransaction(context, settings),
        });
        return () => handle.abandon();
      });
    });
  }

  #connectionScope<R>(name: string, fn: (conn: Connection) => ObservableInput<R>, method: 'connection' | 'cursor'): Observable<R> {
    return defer(() => {
      this.checkOpen(method, name);
      const { pool, context } = this.#pool(name);
      const refused = this.#bypass(pool, name, method, undefined);
      if (refused) throw refused;
      let connection: Connection | undefined;
      return scopedLease(
        pool,
        (session, scope) => {
          scope.kind = method;
          connection = new Connection(session, scope, context);
          return defer(() => fn(connection as Connection));
        },
        { buffered: false, onEnd: () => connection?.end() },
      );
    });
  }

  /**
   * Whether `method` of config `conn`, starting now, bypasses the handle of a scope of the same
   * pool whose code (or code it started, across awaits) is running: reports it, and under
   * `scopeBypass: 'error'` returns the error that refuses it.
   */
  #bypass(pool: Pool, conn: string, method: string, sql: string | undefined): PoolError | undefined {
    if (this.#scopeBypass === 'off') return undefined;
    const scope = LeaseScope.heldAround(pool);
    if (scope === undefined) return undefined;
    const event: ScopeBypassEvent = { type: 'scope_bypass', conn, method, scope: scope.kind, use: SCOPE_HANDLES[scope.kind], sql, refused: this.#scopeBypass === 'error' };
    this.#emit(() => event);
    return event.refused ? new PoolError('scope_bypass', describeScopeBypass(event), pool.state, { conn }) : undefined;
  }

  /** The pool of config `name` and its statement context, created on first use. */
  #pool(name: string): { readonly pool: Pool; readonly context: StatementContext } {
    let entry = this.#pools.get(name);
    if (entry === undefined) {
      const config: ConnConfig = this.#registry.get(name);
      let counters = this.#counters.get(name);
      if (counters === undefined) {
        counters = new PoolCounters();
        this.#counters.set(name, counters);
      }
      const pool = new Pool(
        this.#driver,
        config.params,
        {
          conn: name,
          size: config.poolSize,
          maxWaiting: config.maxWaiting,
          acquireTimeoutMillis: config.acquireTimeoutMillis,
          connectTimeoutMillis: config.connectTimeoutMillis,
          idleTimeoutMillis: config.idleTimeoutMillis,
          maxLifetimeMillis: config.maxLifetimeMillis,
          initStatement: config.initStatement,
          cancelGraceMillis: this.#cancelGraceMillis,
          closeGraceMillis: this.#closeGraceMillis,
          scheduler: this.#scheduler,
          trackScopes: this.#scopeBypass !== 'off',
          openOutside: this.#openOutside,
          pipelineDepth: config.pipelineDepth,
        },
        this.#emit,
        counters,
      );
      const context: StatementContext = {
        conn: name,
        driver: this.#driver,
        emit: this.#emit,
        scheduler: this.#scheduler,
        statementTimeoutMillis: config.params.statementTimeoutMillis,
        clientTimeoutGraceMillis: this.#clientTimeoutGraceMillis,
        callSites: this.#callSites,
        hooks: this.#hooks,
        target: { conn: name, dialect: this.#driver.dialect, host: config.params.host, port: config.params.port, database: config.params.database },
        pipelineDepth: config.pipelineDepth,
      };
      entry = { pool, context };
      this.#pools.set(name, entry);
    }
    return entry;
  }

  /** `util.inspect` shows the config names and where they point, never a password. */
  [inspect.custom](): string {
    const conns = this.#registry.names().map((name) => {
      const { params } = this.#registry.get(name);
      return `${name}: ${params.user}@${params.host}:${params.port}/${params.database}`;
    });
    return `${this.constructor.name} { ${conns.join(', ')} }`;
  }

  /** `JSON.stringify` gives the config names only. */
  toJSON(): { conns: string[] } {
    return { conns: this.#registry.names() };
  }
}

/**
 * A scope (a transaction) whose tracker hears how it ended: completed, failed, or unsubscribed
 * before either (then rolled back).
 */
/**
 * One operation's lease (a statement, a batch): `run` on the session granted. A lease that
 * cannot be had is the subscriber's error and the tracker's failure; unsubscribed while still
 * waiting for a session, the tracker hears it was cancelled (a granted operation has told its
 * tracker already).
 */
function holdTrackedLease<R>(
  pool: Pool,
  tracker: OperationTracker | undefined,
  site: CallSite,
  subscriber: Subscriber<R>,
  run: (session: Session, lease: Lease) => () => void,
  statement?: SharedStatement,
): () => void {
  const release = holdLease(
    pool,
    run,
    (error) => {
      const reported = withCallSite(error as Error, site);
      tracker?.failed(reported, 0);
      subscriber.error(reported);
    },
    statement,
  );
  if (tracker === undefined) return release;
  return () => {
    release();
    tracker.cancelled(0);
  };
}

function trackedScope<R>(scope: Observable<R>, tracker: OperationTracker): Observable<R> {
  return new Observable<R>((subscriber) => {
    const subscription = scope.subscribe({
      next: (value) => subscriber.next(value),
      error: (error: unknown) => {
        tracker.failed(error, 0);
        subscriber.error(error);
      },
      complete: () => {
        tracker.succeeded(0);
        subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      tracker.cancelled(0);
    };
  });
}
