import type { Readable } from 'node:stream';
import mysql from 'mysql2';
import { Observable } from 'rxjs';
import type { ConnectionHooks } from '../driver/driver.js';
import type { DriverConnection, TransactionStatus } from '../driver/driver-connection.js';
import type { RunOptions, StatementSink } from '../driver/statement-sink.js';
import { runPreludeFirst } from '../driver/run-prelude.js';
import { ConnectionError, sessionClosedError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import { RowShape } from '../rows/ordered-row.js';
import { placeholderHint, toRxpgMysqlError, valueCountMessage } from './mysql-error.js';
import { countPlaceholders } from './placeholders.js';
import { SessionChanges } from './session-changes.js';
import { LoadDataWriter } from './copy/load-data-writer.js';
import { BinaryRowParser, type BinaryField } from './binary-row-parser.js';
import { checkTimeZone, dateFromMysqlText } from './mysql-date.js';

const SERVER_STATUS_IN_TRANS = 1;
const MAX_SHAPES = 256;
/** MySQL's DATE, DATETIME, TIMESTAMP and NEWDATE column types. */
const DATE_TYPES: ReadonlySet<number> = new Set([10, 12, 7, 14]);
/** ER_UNSUPPORTED_PS: the statement cannot be prepared, so it cannot go by the binary protocol. */
const ER_UNSUPPORTED_PS = 1295;

/** The statement in flight: where its results go, and whether it ended or is being drained. */
interface Running {
  readonly sink: StatementSink;
  readonly sql: string;
  done: boolean;
  draining: boolean;
  /** A LOAD DATA LOCAL INFILE's writer, once the server asked for the data. */
  load?: LoadDataWriter;
}

/** A result's shape, the columns whose text the text protocol's rows turn into Dates, and its binary rows' reader. */
interface ResultLayout {
  readonly shape: RowShape;
  readonly dates: readonly number[];
  binary?: BinaryRowParser;
}

/** mysql2's Execute command, whose row reader rxpg replaces (an undocumented member, checked before use). */
interface ExecuteCommand {
  buildParserFromFields?: (fields: BinaryField[]) => unknown;
}

/** The options a side connection (for KILL QUERY) needs: the session's own. */
export type MysqlConnectOptions = mysql.ConnectionOptions;

/** A mysql2 connection behind the driver seam: one session, one statement at a time. */
export class MysqlConnection implements DriverConnection {
  readonly processId: number;
  readonly #connection: mysql.Connection;
  readonly #connectOptions: MysqlConnectOptions;
  readonly #hooks: ConnectionHooks;
  readonly #mariadb: boolean;
  readonly #layouts = new Map<string, ResultLayout>();
  readonly #changes = new SessionChanges();
  #inTransaction = false;
  #broken = false;
  #current: Running | null = null;

  constructor(connection: mysql.Connection, connectOptions: MysqlConnectOptions, hooks: ConnectionHooks) {
    this.#connection = connection;
    this.#connectOptions = connectOptions;
    this.#hooks = hooks;
    this.processId = connection.threadId ?? 0;
    const version = (connection as unknown as { serverVersion?: string; _handshakePacket?: { serverVersion?: string } })._handshakePacket?.serverVersion ?? '';
    this.#mariadb = /mariadb/i.test(version);
    connection.on('error', (error: Error) => this.#lost(error));
    connection.on('end', () => this.#lost(new Error('the server closed the connection')));
  }

  /** Whether the server is MariaDB (timeouts use max_statement_time) rather than MySQL. */
  get isMariaDb(): boolean {
    return this.#mariadb;
  }

  get transactionStatus(): TransactionStatus {
    return this.#inTransaction ? 'transaction' : 'idle';
  }

  get isBroken(): boolean {
    return this.#broken;
  }

  get sessionChange(): string | undefined {
    return this.#changes.change;
  }

  markBaseline(): void {
    this.#changes.baseline();
  }

  /**
   * None: mysql2 does not implement COM_RESET_CONNECTION, and user variables, temporary tables
   * and named locks cannot all be found and undone by statements; a changed session is closed.
   */
  resetStatement(): undefined {
    return undefined;
  }

  run(sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions = {}): void {
    if (this.#broken) {
      sink.error(sessionClosedError());
      return;
    }
    // One statement per round trip: the prelude (a transaction's BEGIN) runs first on its own.
    if (options.prelude?.length) {
      runPreludeFirst(this, sql, params, sink, options);
      return;
    }
    const load = options.copy?.copyIn !== undefined && LOAD_DATA_LOCAL.test(sql) && params.length === 0 ? options.copy.copyIn : undefined;
    if (options.copy !== undefined && load === undefined) {
      sink.error(copyUnsupported(sql));
      return;
    }
    this.#changes.statement(sql);
    // mysql2 sends surplus values without a word and the server reads them as garbage.
    if (params.length > 0) {
      const placeholders = countPlaceholders(sql);
      if (params.length > placeholders) {
        sink.error(new QueryError('data', `${valueCountMessage(placeholders, params.length)}${placeholderHint(sql, params.length)}`, { statement: sql }));
        return;
      }
    }
    const current: Running = { sink, sql, done: false, draining: false };
    this.#current = current;
    // Streams and statements with parameters go by the binary protocol (a prepared statement):
    // the server sends numbers and dates unformatted, far less work on both ends for a big result.
    if (load !== undefined) {
      this.#start(current, sql, params, options, false, () => {
        // The server asked for the file: the source is read from now on.
        const writer = new LoadDataWriter((done) => this.#kill().subscribe({ complete: done }), load);
        current.load = writer;
        return writer.readable;
      });
      return;
    }
    this.#start(current, sql, params, options, params.length > 0 || (options.batchSize ?? 0) > 0);
  }


  #start(
    current: Running,
    sql: string,
    params: readonly unknown[],
    options: RunOptions,
    binary: boolean,
    infile?: () => Readable,
  ): void {
    const sink = current.sink;
    const text = options.timeoutMillis === undefined ? sql : this.#withServerTimeout(sql, options.timeoutMillis);
    const batchSize = options.batchSize ?? 0;
    let layout: ResultLayout | undefined;
    let rows = 0;
    let affected: number | null = null;
    let command: ReturnType<mysql.Connection['query']>;
    try {
      // The text protocol's BIGINTs come as exact strings and its dates as text, which
      // dateFromMysqlText reads as the binary rows' reader reads their fields.
      command = binary
        ? this.#connection.execute({ sql: text, values: params as unknown[], rowsAsArray: true })
        : this.#connection.query({ sql: text, rowsAsArray: true, bigNumberStrings: true, dateStrings: true, ...(infile && { infileStreamFactory: infile }) });
    } catch (error) {
      // mysql2 throws some refusals (a value it cannot bind) instead of reporting them: they are
      // this statement's error, never the caller's stack's.
      this.#finish(current, () =>
        sink.error(new QueryError('data', `a parameter could not be sent: ${error instanceof Error ? error.message : String(error)}`, { statement: sql }, { cause: error })),
      );
      return;
    }
    if (binary) {
      const execute = command as unknown as ExecuteCommand;
      if (typeof execute.buildParserFromFields !== 'function') {
        // Reported, not thrown: mysql2 already has the command queued; it runs, unheard.
        command.on('error', () => {});
        this.#finish(current, () =>
          sink.error(
            new ConnectionError(
              "this mysql2 has no Execute.buildParserFromFields, through which rxpg reads the binary protocol's rows: install mysql2 3.9 or later (npm install mysql2@3)",
            ),
          ),
        );
        return;
      }
      // mysql2 builds the reader right after 'fields': this result's reader, cached with its layout.
      execute.buildParserFromFields = (fields) => {
        const reader = (layout ?? this.#layoutFor(fields)).binary ?? new BinaryRowParser(fields);
        if (layout) layout.binary = reader;
        return reader.factory();
      };
    }
    // Set when this command failed to prepare and a text-protocol command took over.
    let superseded = false;
    command.on('fields', (fields: BinaryField[] | undefined) => {
      if (superseded) return;
      layout = fields ? this.#layoutFor(fields) : undefined;
      // Dates are local time: a process.env.TZ changed since the last result counts from this one.
      if (!binary && layout && layout.dates.length > 0) checkTimeZone();
    });
    command.on('result', (row: unknown) => {
      // Closed early: what the server still sends is read and dropped, never paused for.
      if (current.done || current.draining || superseded) return;
      if (Array.isArray(row)) {
        rows++;
        if (layout) {
          if (!binary) {
            const dates = layout.dates;
            for (let index = 0; index < dates.length; index++) {
              const value = row[dates[index]];
              if (typeof value === 'string') row[dates[index]] = dateFromMysqlText(value);
            }
          }
          sink.row(layout.shape, row);
        }
        if (batchSize > 0 && rows % batchSize === 0 && sink.suspended) {
          // Stop reading the socket until the consumer asks for more: mysql2 queues what arrived.
          this.#connection.pause();
          let used = false;
          sink.suspended({
            fetch: () => {
              if (used) return;
              used = true;
              this.#connection.resume();
            },
            close: () => {
              if (used) return;
              used = true;
              // No portal to close in MySQL: stop the statement on the server (once) and drain
              // what it already sent, so the connection is never left paused.
              current.draining = true;
              this.#kill().subscribe();
              this.#connection.resume();
            },
          });
        }
      } else {
        const header = row as { affectedRows?: number; serverStatus?: number };
        affected = header.affectedRows ?? null;
        if (header.serverStatus !== undefined) this.#inTransaction = (header.serverStatus & SERVER_STATUS_IN_TRANS) !== 0;
      }
    });
    command.on('error', (error: Error) => {
      if (superseded) return;
      if (binary && params.length === 0 && (error as { errno?: number }).errno === ER_UNSUPPORTED_PS && !current.done) {
        // Not preparable (EXECUTE, some administrative statements): the text protocol runs it.
        superseded = true;
        this.#start(current, sql, params, options, false);
        return;
      }
      current.load?.close();
      this.#finish(current, () => sink.error(localInfileRefused(error, sql) ?? toRxpgMysqlError(error, { statement: sql, valueCount: params.length })));
    });
    command.on('end', () => superseded || this.#finish(current, () => sink.complete({ command: sql.trim().split(/\s+/)[0]?.toUpperCase() ?? '', rowCount: affected ?? rows })));
  }

  cancel(): Observable<void> {
    const current = this.#current;
    if (this.#broken || current === null) return new Observable<void>((subscriber) => subscriber.complete());
    // The rest of this result is dropped, and no later pause asks to be closed (killed) again.
    current.draining = true;
    this.#connection.resume();
    return this.#kill();
  }

  close(): Observable<void> {
    return new Observable<void>((subscriber) => {
      if (this.#broken) {
        subscriber.complete();
        return;
      }
      this.#connection.end(() => subscriber.complete());
    });
  }

  keepProcessAlive(keep: boolean): void {
    // mysql2 has no ref()/unref() of its own; its socket is the connection's `stream`.
    const stream = (this.#connection as unknown as { stream?: { ref?: () => void; unref?: () => void } }).stream;
    if (keep) stream?.ref?.();
    else stream?.unref?.();
  }

  destroy(): void {
    this.#connection.destroy();
    this.#lost(new Error('the session was destroyed'));
  }

  /** A server-side limit for one statement: MariaDB's SET STATEMENT, MySQL's optimizer hint. */
  #withServerTimeout(sql: string, millis: number): string {
    if (this.#mariadb) return `SET STATEMENT max_statement_time=${Math.max(0.001, millis / 1000)} FOR ${sql}`;
    // MySQL's max_execution_time only applies to SELECT; other statements get the client's timer.
    return sql.replace(/^\s*SELECT\b/i, `SELECT /*+ MAX_EXECUTION_TIME(${Math.max(1, Math.ceil(millis))}) */`);
  }

  /** KILL QUERY from a side connection: stops the running statement, never the session. */
  #kill(): Observable<void> {
    return new Observable<void>((subscriber) => {
      const side = mysql.createConnection({ ...this.#connectOptions });
      side.on('error', () => {});
      side.query(`KILL QUERY ${Number(this.processId)}`, () => {
        side.end(() => {});
        subscriber.complete();
      });
      return () => side.destroy();
    });
  }

  #layoutFor(fields: readonly BinaryField[]): ResultLayout {
    let key = '';
    for (const field of fields) {
      key += `${field.name}\u0000${field.columnType},${field.flags},${field.decimals},${field.characterSet},${field.extendedFormat ?? ''}\u0001`;
    }
    let layout = this.#layouts.get(key);
    if (layout === undefined) {
      if (this.#layouts.size >= MAX_SHAPES) this.#layouts.clear();
      layout = {
        shape: new RowShape(fields.map((field) => ({ name: field.name, typeOid: field.columnType, tableOid: 0, columnNumber: 0 }))),
        dates: fields.flatMap((field, index) => (DATE_TYPES.has(field.columnType) ? [index] : [])),
      };
      this.#layouts.set(key, layout);
    }
    return layout;
  }

  #finish(current: Running, report: () => void): void {
    if (current.done) return;
    current.done = true;
    if (this.#current === current) this.#current = null;
    report();
  }

  #lost(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#inTransaction = false;
    const current = this.#current;
    if (current) {
      const converted = toRxpgMysqlError(error);
      this.#finish(current, () =>
        current.sink.error(converted instanceof ConnectionError ? converted : new ConnectionError(`connection lost while running a statement: ${converted.message}`, { cause: converted })),
      );
    }
    this.#hooks.onLost(error);
  }
}

/** A LOAD DATA LOCAL INFILE statement, which copyFrom() feeds (any file name: the source is the file). */
const LOAD_DATA_LOCAL = /^\s*LOAD\s+(?:DATA|XML)\s+(?:(?:LOW_PRIORITY|CONCURRENT)\s+)?LOCAL\s+INFILE\b/i;

/** copyTo() is Postgres' COPY … TO STDOUT, and copyFrom() on MySQL feeds LOAD DATA LOCAL INFILE only. */
function copyUnsupported(statement: string): QueryError {
  return new QueryError(
    'unsupported',
    LOAD_DATA_LOCAL.test(statement)
      ? 'copyTo() reads COPY … TO STDOUT, which MySQL does not have: export with stream() (it reads the result with demand through the binary protocol). Nothing was sent.'
      : 'MyManager has no copyTo(), and its copyFrom() runs LOAD DATA LOCAL INFILE … only (without parameters): export with stream() (it reads ' +
          "the result with demand through the binary protocol), and load with copyFrom(\"LOAD DATA LOCAL INFILE 'rows' INTO TABLE t\", source$). " +
          'Nothing was sent; the session is unharmed.',
    { statement },
  );
}

/** The server (or mysql2's flags) do not allow LOCAL INFILE: say how to allow it. */
function localInfileRefused(error: unknown, statement: string): QueryError | undefined {
  const errno = (error as { errno?: number }).errno;
  // 1148: not allowed with this version (MariaDB, MySQL before 8); 3948: local data disabled (MySQL 8); 4166: MariaDB's local_infile off.
  if (errno !== 1148 && errno !== 3948 && errno !== 4166) return undefined;
  return new QueryError(
    'unsupported',
    `copyFrom() feeds LOAD DATA LOCAL INFILE, which the server refused (errno ${errno}: ${(error as Error).message}). ` +
      'Allow it on the server with SET GLOBAL local_infile = ON (or local_infile = 1 under [mysqld] in its configuration); ' +
      "rxpg's connections ask for it (mysql2's LOCAL_FILES flag). Nothing was loaded.",
    { statement },
    { cause: error },
  );
}
