import { asyncScheduler, Observable, timer, type Subscription } from 'rxjs';
import type { ConnectionParams, ConnectionSource, ResolvedConnection, SessionSettings } from '../driver/connection-params.js';
import type { ConnectionHooks, TransactionSettings } from '../driver/driver.js';
import { SqlDriver } from '../driver/sql-driver.js';
import type { DriverConnection, TransactionStatus } from '../driver/driver-connection.js';
import type { RunOptions, StatementSink, StatementSummary } from '../driver/statement-sink.js';
import { runPreludeFirst } from '../driver/run-prelude.js';
import type { ErrorReason } from '../errors/error-reason.js';
import { ConnectionError, sessionClosedError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import { RowShape } from '../rows/ordered-row.js';

/**
 * A scripted server error. Its `reason` is given, or derived from `code` by the driver's
 * {@link ScriptedDriverOptions.reasonFor}, else `unknown`.
 */
export interface ScriptedError {
  readonly message: string;
  /** The backend's code: a SQLSTATE (`'42P01'`) or a MySQL errno (`1146`). */
  readonly code?: string | number;
  /** The SQLSTATE the error carries; `code` when that is a string and this is absent. */
  readonly sqlState?: string;
  /** The shared reason, when not derived from `code`. */
  readonly reason?: ErrorReason;
}

/** Options of a {@link ScriptedDriver}. */
export interface ScriptedDriverOptions {
  /**
   * How a scripted error's code maps to a reason, as the backend being imitated maps it:
   * `reasonForSqlState` from 'rxpg', `reasonForMysqlError` from 'rxpg/mysql', or your own.
   */
  readonly reasonFor?: (code: never, sqlState: never, extra: never) => ErrorReason;
}

/** How one scripted statement behaves. Frames are virtual milliseconds under a TestScheduler. */
export interface ScriptedResult {
  /** Time the statement takes (per batch when read as a stream). Default 1. */
  readonly frames?: number;
  /** Column names of its rows. Default `['n']`. */
  readonly columns?: readonly string[];
  readonly rows?: readonly (readonly unknown[])[];
  /** Fail instead, as the server would. */
  readonly error?: ScriptedError;
  /** The statement does not stop on a cancel (a stuck server). */
  readonly ignoresCancel?: boolean;
  /** The server never answers, not even when its statement_timeout fires (a stalled network). */
  readonly silent?: boolean;
  /**
   * The statement leaves session state behind (as a SET would): the pool then runs
   * {@link SCRIPTED_RESET} on the session before it leases it again.
   */
  readonly changesSession?: boolean;
}

/** The statement a changed scripted session is reset with (script a result for it to make the reset slow or fail). */
export const SCRIPTED_RESET = 'RESET SESSION';

/** A statement the scripted server received. */
export interface SentStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly processId: number;
  /** When it arrived (the scheduler's clock: virtual time under a TestScheduler). */
  readonly at: number;
}

type Rule = { readonly match: (sql: string) => boolean; readonly result: ScriptedResult | ((sql: string, params: readonly unknown[]) => ScriptedResult) };

/**
 * An in-memory database server for tests, behind the same driver seam as pg and mysql2: pass
 * it to `new PgManager({ driver, scheduler })` (or `new MyManager({ driver })`) and script
 * statements, errors, slow connects and notifications over virtual time, then assert what was
 * sent. All its time runs on RxJS timers, so a TestScheduler drives it. It imitates no backend
 * in particular: it speaks standard SQL's transaction statements, and maps error codes to
 * reasons with the `reasonFor` it is given.
 *
 * @example
 * ```ts
 * import { PgManager, reasonForSqlState } from 'rxpg';
 * import { ScriptedDriver } from 'rxpg/testing';
 * import { TestScheduler } from 'rxjs/testing';
 * import { map } from 'rxjs';
 *
 * new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(({ expectObservable }) => {
 *   const driver = new ScriptedDriver({ reasonFor: reasonForSqlState }).on(/FROM users/, { frames: 3, columns: ['name'], rows: [['ada'], ['bob']] });
 *   const pgm = new PgManager({ driver });
 *   pgm.createConn({ host: 'scripted' });
 *   expectObservable(pgm.query('SELECT name FROM users').pipe(map((row) => row.name))).toBe('----(ab|)', { a: 'ada', b: 'bob' });
 * });
 * ```
 */
export class ScriptedDriver extends SqlDriver {
  readonly dialect = 'scripted';
  /** Frames a connect takes. */
  connectFrames = 1;
  /** Every statement received, in order. */
  readonly statements: SentStatement[] = [];
  /** Every session opened, in order (killed ones included). */
  readonly connections: ScriptedConnection[] = [];
  readonly #rules: Rule[] = [];
  readonly #options: ScriptedDriverOptions;
  #refusals = 0;
  #refusalMessage = 'connect ECONNREFUSED (scripted)';
  #nextProcessId = 1;

  constructor(options: ScriptedDriverOptions = {}) {
    super();
    this.#options = options;
  }

  /** The SQL of every statement received, in order. */
  get sent(): string[] {
    return this.statements.map((statement) => statement.sql);
  }

  /** Scripts statements matching `pattern` (a substring or a RegExp); the latest rule wins. */
  on(pattern: string | RegExp, result: ScriptedResult | ((sql: string, params: readonly unknown[]) => ScriptedResult)): this {
    const match = typeof pattern === 'string' ? (sql: string) => sql.includes(pattern) : (sql: string) => pattern.test(sql);
    this.#rules.unshift({ match, result });
    return this;
  }

  /** The next `count` connects fail, each after `connectFrames`. */
  refuseConnections(count = Infinity, message?: string): this {
    this.#refusals = count;
    if (message) this.#refusalMessage = message;
    return this;
  }

  /** Delivers a notification to every live session that LISTENs on `channel`. */
  notify(channel: string, payload = '', processId = 0): void {
    for (const connection of this.connections) connection.deliver(channel, payload, processId);
  }

  /** Kills the session `processId` (or every session) as pg_terminate_backend would. */
  kill(processId?: number): void {
    for (const connection of this.connections) if (processId === undefined || connection.processId === processId) connection.terminate();
  }

  /** @internal */
  resultFor(sql: string, params: readonly unknown[]): ScriptedResult {
    const rule = this.#rules.find((candidate) => candidate.match(sql));
    if (rule === undefined) return {};
    return typeof rule.result === 'function' ? rule.result(sql, params) : rule.result;
  }

  /** @internal The reason of a scripted error. */
  reasonOf(error: ScriptedError): ErrorReason {
    if (error.reason !== undefined) return error.reason;
    const code = error.code ?? error.sqlState;
    // Called as the backend's own mapping is: (code, SQLSTATE), and nothing for a third argument.
    const reasonFor = this.#options.reasonFor as ((code: unknown, sqlState: unknown, extra: undefined) => ErrorReason) | undefined;
    return code !== undefined && reasonFor ? reasonFor(code, error.sqlState, undefined) : 'unknown';
  }

  /** Any URL or fields: where a scripted session "connects" is only used in messages. */
  resolveConnection(source: ConnectionSource, settings: SessionSettings): ResolvedConnection {
    const url = source.connectionString === undefined ? undefined : new URL(source.connectionString);
    const params: ConnectionParams = {
      host: source.host ?? source.hostaddr ?? url?.hostname ?? 'scripted',
      port: source.port ?? (url?.port ? Number(url.port) : 0),
      user: source.user ?? url?.username ?? 'scripted',
      password: undefined,
      database: source.database ?? source.dbname ?? url?.pathname.slice(1) ?? 'scripted',
      applicationName: settings.applicationName ?? settings.fallbackApplicationName,
      ssl: false,
      keepAlive: settings.keepAlive,
      keepAliveInitialDelayMillis: settings.keepAliveInitialDelayMillis,
      statementTimeoutMillis: settings.statementTimeoutMillis,
      defaultIsolation: settings.defaultIsolation,
      typeParsers: new Map(),
    };
    return { params: Object.freeze(params), connectTimeoutSeconds: undefined };
  }

  beginTransaction(settings: TransactionSettings): string[] {
    let sql = 'BEGIN';
    if (settings.isolationLevel) sql += ` ISOLATION LEVEL ${settings.isolationLevel.replace('_', ' ').toUpperCase()}`;
    if (settings.readOnly !== undefined) sql += settings.readOnly ? ' READ ONLY' : ' READ WRITE';
    return [sql];
  }


  /** A scripted COMMIT fails with an error when scripted to; it never reports a rollback as success. */
  override committed(summary: StatementSummary): boolean {
    return summary.command !== 'ROLLBACK';
  }

  connect(_params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection> {
    return new Observable<DriverConnection>((subscriber) =>
      timer(this.connectFrames).subscribe(() => {
        if (this.#refusals > 0) {
          this.#refusals--;
          subscriber.error(new ConnectionError(`could not connect to the scripted server: ${this.#refusalMessage}`, { isRetryable: true }));
          return;
        }
        const connection = new ScriptedConnection(this, this.#nextProcessId++, hooks);
        this.connections.push(connection);
        subscriber.next(connection);
        subscriber.complete();
      }),
    );
  }
}

/**
 * One scripted session, as `driver.connections` lists them: inspect what happened to it.
 *
 * @example
 * ```ts
 * import { ScriptedDriver } from 'rxpg/testing';
 *
 * const driver = new ScriptedDriver();
 * // … run a pipeline over new PgManager({ driver }) …
 * driver.connections[0]?.cancels; // how many cancels the first session received
 * ```
 */
export class ScriptedConnection implements DriverConnection {
  readonly processId: number;
  transactionStatus: TransactionStatus = 'idle';
  isBroken = false;
  /** Cancels received. */
  cancels = 0;
  /** Batches fetched after the first (cursor reads). */
  fetches = 0;
  /** Whether this session would keep a real process alive: false while it sits idle in its pool. */
  keepsProcessAlive = true;
  /** Channels this session LISTENs on. */
  readonly listening = new Set<string>();
  /** The statement that changed the session's state, until the pool resets it. */
  sessionChange: string | undefined;
  readonly #driver: ScriptedDriver;
  readonly #hooks: ConnectionHooks;
  #running: { timer: Subscription; sink: StatementSink; result: ScriptedResult } | undefined;

  constructor(driver: ScriptedDriver, processId: number, hooks: ConnectionHooks) {
    this.#driver = driver;
    this.processId = processId;
    this.#hooks = hooks;
  }

  markBaseline(): void {
    this.sessionChange = undefined;
  }

  resetStatement(): string {
    return SCRIPTED_RESET;
  }

  run(sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions = {}): void {
    if (this.isBroken) {
      sink.error(sessionClosedError());
      return;
    }
    // As a real server would run them: the prelude (a transaction's BEGIN) first, as statements of their own.
    if (options.prelude?.length) {
      runPreludeFirst(this, sql, params, sink, options);
      return;
    }
    this.#driver.statements.push({ sql, params, processId: this.processId, at: asyncScheduler.now() });
    const result = this.#driver.resultFor(sql, params);
    if (result.changesSession) this.sessionChange ??= sql;
    const frames = result.frames ?? 1;
    const shape = new RowShape((result.columns ?? ['n']).map((name) => ({ name, typeOid: 0, tableOid: 0, columnNumber: 0 })));
    const rows = result.rows ?? [];
    const batchSize = options.batchSize ?? Math.max(rows.length, 1);
    const limit = options.timeoutMillis;
    const deliver = (from: number): void => {
      // A server-side statement_timeout shorter than the work ends it at the limit.
      const timedOut = limit !== undefined && frames > limit && !result.silent;
      if (result.silent) {
        this.#running = { sink, result, timer: timer(Number.MAX_SAFE_INTEGER).subscribe() };
        return;
      }
      const running = {
        sink,
        result,
        timer: timer(timedOut ? limit : frames).subscribe(() => {
          this.#running = undefined;
          if (timedOut) return this.#fail(sink, { reason: 'canceled', message: 'canceling statement due to statement timeout (scripted)' });
          if (result.error) return this.#fail(sink, result.error);
          const batch = rows.slice(from, from + batchSize);
          for (const values of batch) sink.row(shape, [...values]);
          if (from + batchSize < rows.length && sink.suspended) {
            let used = false;
            sink.suspended({
              fetch: () => {
                if (used) return;
                used = true;
                this.fetches++;
                deliver(from + batchSize);
              },
              close: () => {
                if (used) return;
                used = true;
                sink.complete({ command: 'SELECT', rowCount: batch.length });
              },
            });
            return;
          }
          this.#track(sql);
          sink.complete({ command: sql.trim().split(/\s+/)[0]?.toUpperCase() ?? '', rowCount: batch.length });
        }),
      };
      this.#running = running;
    };
    deliver(0);
  }

  cancel(): Observable<void> {
    return new Observable<void>((subscriber) => {
      this.cancels++;
      const running = this.#running;
      if (running && !running.result.ignoresCancel) {
        running.timer.unsubscribe();
        this.#running = undefined;
        this.#fail(running.sink, { reason: 'canceled', message: 'canceling statement due to user request (scripted)' });
      }
      subscriber.complete();
    });
  }

  close(): Observable<void> {
    return new Observable<void>((subscriber) => {
      this.isBroken = true;
      subscriber.complete();
    });
  }

  keepProcessAlive(keep: boolean): void {
    this.keepsProcessAlive = keep;
  }

  destroy(): void {
    if (this.isBroken) return;
    this.terminate();
  }

  /** @internal The server ends this session. */
  terminate(): void {
    if (this.isBroken) return;
    this.isBroken = true;
    const running = this.#running;
    this.#running = undefined;
    running?.timer.unsubscribe();
    running?.sink.error(new ConnectionError('terminating connection due to administrator command (scripted)'));
    this.#hooks.onLost(new Error('terminated'));
  }

  /** @internal */
  deliver(channel: string, payload: string, processId: number): void {
    if (!this.isBroken && this.listening.has(channel)) this.#hooks.onNotification?.({ channel, payload, processId, receivedAt: (this.#hooks.now ?? Date.now)() });
  }

  #fail(sink: StatementSink, error: ScriptedError): void {
    if (this.transactionStatus === 'transaction') this.transactionStatus = 'failed';
    const sqlState = error.sqlState ?? (typeof error.code === 'string' ? error.code : undefined);
    sink.error(new QueryError(this.#driver.reasonOf(error), error.message, { sqlState }));
  }

  /** Follows transaction and LISTEN state from what was run. */
  #track(sql: string): void {
    for (const statement of sql.split(/;\s*/)) {
      const listen = /^(UN)?LISTEN "((?:[^"]|"")*)"$/.exec(statement.trim());
      if (listen) {
        const channel = listen[2].replace(/""/g, '"');
        if (listen[1]) this.listening.delete(channel);
        else this.listening.add(channel);
      } else if (/^(BEGIN|START TRANSACTION)/i.test(statement)) this.transactionStatus = 'transaction';
      else if (/^(COMMIT|ROLLBACK)$/i.test(statement.trim())) this.transactionStatus = 'idle';
    }
  }
}
