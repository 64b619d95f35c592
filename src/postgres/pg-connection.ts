import pg from 'pg';
import { EMPTY, Observable } from 'rxjs';
import type { ClientCallWrapper, ConnectionHooks } from '../driver/driver.js';
import type { DriverConnection, PipelineFit, TransactionStatus } from '../driver/driver-connection.js';
import type { ConnectionParams } from '../driver/connection-params.js';
import { runPreludeFirst } from '../driver/run-prelude.js';
import type { BatchEntry, BatchRunOptions, BatchSink } from '../driver/batch-sink.js';
import type { RunOptions, StatementSink } from '../driver/statement-sink.js';
import { ConnectionError, sessionClosedError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import type { RxpgError } from '../errors/rxpg-error.js';
import { sendCancelRequest } from './pg-cancel.js';
import type { MessageReader } from './message-tap.js';
import { toRxpgError } from './pg-error.js';
import { PgBatch, type PgBatchEntry } from './pg-batch.js';
import { PgStatement, type ProtocolWriter } from './pg-statement.js';
import { prepareModeFor, type PrepareMode } from './prepare-mode.js';
import { PreparedStatements } from './prepared-statements.js';
import { ResultShapes } from './result-shapes.js';
import type { ServerRole } from './connect-to-hosts.js';
import { postgresParams, type TargetSessionAttrs } from './postgres-connection-params.js';
import { reportedRole, roleChange } from './role-change.js';
import { SessionChanges } from './session-changes.js';
import { copyFromCaveat, detectEngine, type Engine } from './engine.js';
import { streamRefusal } from './engine-refusals.js';
import { reportInferredPooler } from './neon-pooler.js';
// pg's own value serialisation (Dates, arrays, Buffers, JSON, toPostgres) keeps parameters
// compatible with what pg users pass.
import pgUtils from 'pg/lib/utils.js';

const { prepareValue } = pgUtils;

/** The most values a Bind carries: the protocol counts them in 16 bits. */
const MAX_VALUES = 65_535;

/** A statement's values as they are sent (text, bytes or NULL); throws for one that cannot be sent, or for too many. */
function wireValues(params: readonly unknown[]): (string | Buffer | null)[] {
  if (params.length > MAX_VALUES) throw new Error(`${params.length} values were given, and the protocol carries at most ${MAX_VALUES} per statement: split the statement, or pass an array as one value ($1::int[])`);
  return params.map((param) => prepareValue(param));
}

/**
 * The members of pg's Client a session uses beyond pg's typings (undocumented, so each is
 * checked by {@link pgInternalsOf} before use, never assumed).
 */
export interface PgClientInternals {
  readonly processID: number;
  readonly secretKey: number;
  readonly connection: ProtocolWriter & {
    readonly stream: { destroy(): void; cork?: () => void; uncork?: () => void };
    on(event: 'readyForQuery', listener: (message: { status?: unknown }) => void): void;
    on(event: 'notification', listener: (message: { channel: string; payload?: string; processId: number }) => void): void;
    on(event: 'parameterStatus', listener: (message: { parameterName?: unknown }) => void): void;
    on(event: 'copyOutResponse', listener: () => void): void;
  };
}

const WRITER_METHODS = ['query', 'parse', 'bind', 'describe', 'execute', 'close', 'flush', 'sync', 'sendCopyFail', 'on'] as const;

/**
 * pg's Client as rxpg drives it, or a list of what is missing: a pg release that renamed one of
 * these members cannot run rxpg's statements, and must fail the connect with a typed error
 * rather than throw.
 */
export function pgInternalsOf(client: pg.Client): PgClientInternals | { readonly missing: readonly string[] } {
  const candidate = client as unknown as Record<string, unknown>;
  const connection = candidate.connection as Record<string, unknown> | undefined;
  const missing: string[] = [];
  if (typeof candidate.processID !== 'number') missing.push('Client.processID');
  if (typeof candidate.secretKey !== 'number') missing.push('Client.secretKey');
  if (connection === undefined || connection === null) missing.push('Client.connection');
  else {
    for (const method of WRITER_METHODS) if (typeof connection[method] !== 'function') missing.push(`Connection.${method}()`);
    if (typeof (connection.stream as { destroy?: unknown } | undefined)?.destroy !== 'function') missing.push('Connection.stream.destroy()');
    if (typeof (connection.stream as { write?: unknown } | undefined)?.write !== 'function') missing.push('Connection.stream.write()');
  }
  return missing.length > 0 ? { missing } : (client as unknown as PgClientInternals);
}

/** What became of the message tap on a session (see {@link tapMessages}). */
export type TapOutcome = MessageReader | { readonly refused: string } | 'off';

interface NoticeFields {
  readonly severity?: string;
  readonly message?: string;
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly where?: string;
}

const STALE_NAME_DETAIL =
  'a named prepared statement was missing on its server connection (or its name was taken there): a transaction pooler ' +
  '(PgBouncer in transaction mode before 1.21, RDS Proxy, Supavisor) hands each transaction to any server connection. ' +
  "rxpg now sends this config's statements unnamed (Parse/Bind/Execute, parameters still bound); " +
  "set prepare: false (or pooler: 'transaction') on the config to start that way";

/**
 * The stale-name error of a statement that could not run again by itself (inside a transaction):
 * retryable, since the config now sends unnamed statements and nothing of the statement ran.
 */
function staleNameError(error: RxpgError): RxpgError {
  if (!(error instanceof QueryError)) return error;
  return new QueryError(
    error.reason,
    `${error.message}: a transaction pooler gave this transaction a server connection without rxpg's named statement. ` +
      `rxpg now sends this config's statements unnamed (prepare: false); run the transaction again (retryTransaction()).`,
    {
      sqlState: error.sqlState, severity: error.severity, detail: error.detail, hint: error.hint, position: error.position, where: error.where,
      schema: error.schema, table: error.table, column: error.column, constraint: error.constraint, statement: error.statement,
    },
    { conn: error.conn, cause: error.cause, isRetryable: true },
  );
}

/** A pg Client behind the driver seam: one session, one statement at a time. */
export class PgConnection implements DriverConnection {
  readonly processId: number;
  /** Whether rows and notifications are read off the socket by the message tap (else by pg). */
  readonly tapped: boolean;
  readonly #client: pg.Client;
  readonly #internals: PgClientInternals;
  readonly #params: ConnectionParams;
  readonly #hooks: ConnectionHooks;
  readonly #shapes: ResultShapes;
  readonly #prepared: PreparedStatements;
  /** Named or unnamed statements: the config's setting, shared by its sessions. */
  readonly #prepareMode: PrepareMode;
  /** Behind a transaction pooler nothing outlives a transaction: no session state to reset. */
  readonly #transactionPooler: boolean;
  /** Whether the statement in flight may run again if its name was stale: sent outside any transaction. */
  #rerunnable = false;
  readonly #changes = new SessionChanges(() => this.#prepared.forgetAll());
  readonly #onCommand = (tag: string): void => this.#changes.command(tag);
  /** What the server is answering: one statement or a batch. */
  #current: PgStatement | PgBatch | null = null;
  /** Statements written behind `#current` in the same pipeline, each with its own Sync, in order. */
  readonly #followers: PgStatement[] = [];
  /** The socket is corked until the end of this tick (see #holdWritesForTick). */
  #writesHeld = false;
  #broken = false;
  /** ReadyForQuery's transaction status byte, as the server last sent it. */
  #status = 'I';
  /** What the config asks the server to be, and what it was when the session opened (when it says). */
  readonly #target: TargetSessionAttrs;
  readonly #roleAtOpen: ServerRole | undefined;
  /** A server that does not report its role refused a write (25006) under a config that wants writes. */
  #refusedWrite = false;

  /** How statements are handed to pg (see the driver's `wrapClientCalls`); set by the driver. */
  clientCalls: { readonly wrap: ClientCallWrapper | undefined } | undefined;

  /** What the server reported about itself at startup (ParameterStatus), by name. */
  readonly serverParameters: ReadonlyMap<string, string>;
  /** The Postgres-wire engine behind the session, told from its startup and host name (see `engine.ts`). */
  readonly engine: Engine;
  /** The host name the session dialled (of the config's list), as the config gave it. */
  readonly host: string;
  /** Whether this session said what its engine's COPY FROM does differently (see {@link copyFromCaveat}). */
  #copyFromWarned = false;
  /** Set while a stream runs that passed the CockroachDB portal check (see {@link streamRefusal}). */
  #portalsChecked = false;
  /** What keepProcessAlive last told the socket (a new socket keeps the process alive). */
  #keptAlive: boolean | undefined;

  constructor(
    client: pg.Client,
    internals: PgClientInternals,
    tap: TapOutcome,
    params: ConnectionParams,
    hooks: ConnectionHooks,
    serverParameters: ReadonlyMap<string, string> = new Map(),
    host: string = params.host,
  ) {
    this.serverParameters = serverParameters;
    this.host = host;
    this.engine = detectEngine(serverParameters, host);
    this.#prepared = new PreparedStatements(this.engine.kind !== 'cockroachdb');
    this.#client = client;
    this.#internals = internals;
    this.#params = params;
    this.#hooks = hooks;
    this.#shapes = new ResultShapes(params.typeParsers);
    this.processId = internals.processID;
    this.#prepareMode = prepareModeFor(params);
    this.#transactionPooler = params.pooler === 'transaction';
    this.#target = postgresParams(params).targetSessionAttrs;
    this.#roleAtOpen = reportedRole(serverParameters);
    internals.connection.on('readyForQuery', (message) => {
      // Fail closed: a ReadyForQuery whose status pg did not pass on counts as in a transaction,
      // so a returned session is rolled back rather than pooled mid-transaction.
      this.#status = typeof message?.status === 'string' ? message.status : 'T';
      const statement = this.#current;
      if (statement === null) return;
      this.#current = null;
      // The server answers the next pipelined statement from here on: pg's Client made the one
      // it ran inactive before this listener, and takes this one as active without sending it.
      const rerunnable = this.#rerunnable;
      const next = this.#followers.shift();
      if (next !== undefined) {
        // A pipelined statement was sent outside any transaction, behind row statements only.
        this.#rerunnable = true;
        this.#current = next;
        this.#submit(next);
      }
      if (statement.staleName) {
        this.#switchToUnnamed();
        if (rerunnable && this.#status === 'I' && next === undefined) {
          // Parse or Bind failed, so nothing ran, and no transaction was open: run it again unnamed.
          this.#rerunnable = false;
          const again = statement.unnamed();
          this.#current = again;
          this.#submit(again);
          return;
        }
        if (rerunnable && this.#status === 'I' && statement instanceof PgStatement) {
          // The same, behind the statements still in flight: callers that share a pipeline are
          // independent, so the order between them is free.
          this.#sendBehind(statement.requeued());
          return;
        }
        statement.finish((error) => staleNameError(toRxpgError(error, { statement: statement.errorText })));
        return;
      }
      statement.finish((error) => this.#noteRefusedWrite(toRxpgError(error, { statement: statement.errorText })));
    });
    // Sent when a reported setting changes; the ones sent during startup came before this.
    internals.connection.on('parameterStatus', (message) => this.#changes.parameter(String(message?.parameterName)));
    // pg hands a CopyInResponse's statement no fields: its format and column count (which a
    // binary copyFrom checks) are taken here, ahead of pg's own listener.
    const { connection } = internals as unknown as { connection: { prependListener?: (event: string, listener: (message: { binary?: unknown; columnTypes?: unknown[] } | undefined) => void) => void } };
    connection.prependListener?.('copyInResponse', (message) => {
      if (this.#current instanceof PgStatement) this.#current.copyInFormat = { binary: message?.binary === true, columns: message?.columnTypes?.length ?? -1 };
    });
    // pg has no handler of its own for COPY … TO STDOUT: the statement takes it (copyTo) or refuses it.
    internals.connection.on('copyOutResponse', () => this.#current?.handleCopyOutResponse(internals.connection));
    client.on('notice', (notice: NoticeFields) =>
      hooks.onNotice({
        severity: notice.severity ?? 'NOTICE',
        message: notice.message ?? '',
        sqlState: notice.code,
        detail: notice.detail,
        hint: notice.hint,
        where: notice.where,
      }),
    );
    // Rows and notifications are read off the socket ahead of pg's parser when the tap could be
    // installed; otherwise they come through pg's own parser and events, and the driver says so.
    const onNotification = hooks.onNotification;
    const now = hooks.now ?? Date.now;
    const reader = typeof tap === 'object' && 'handle' in tap ? tap : undefined;
    this.tapped = reader !== undefined;
    if (reader !== undefined) {
      reader.handle({
        notification: onNotification,
        dataRow: (buffer, start) => this.#current !== null && this.#current.takeDataRow(buffer, start),
        copyData: (buffer, start, end) => this.#current !== null && this.#current.takeCopyData(buffer, start, end),
        readEnd: (bytes) => this.#current?.readEnded(bytes),
      });
    } else {
      if (typeof tap === 'object' && 'refused' in tap) {
        hooks.onDriverEvent?.({ type: 'fallback', processId: this.processId, feature: 'message-tap', detail: `${tap.refused}; pg parses every message` });
      }
      if (onNotification) {
        internals.connection.on('notification', (message) =>
          onNotification({ channel: message.channel, payload: message.payload ?? '', processId: message.processId, receivedAt: now() }),
        );
      }
    }
    client.on('error', (error: Error) => this.#lost(error));
    client.on('end', () => this.#lost(new Error('the server closed the connection')));
    reportInferredPooler(params, hooks, this.processId);
  }

  get transactionStatus(): TransactionStatus {
    const status = this.#status;
    return status === 'T' ? 'transaction' : status === 'E' ? 'failed' : 'idle';
  }

  get isBroken(): boolean {
    return this.#broken;
  }

  get sessionChange(): string | undefined {
    // Behind a transaction pooler the state a lease left is on some server connection, not on
    // this session: a reset would run on whichever server connection PgBouncer picks for it.
    return this.#transactionPooler ? undefined : this.#changes.change;
  }

  get roleChange(): string | undefined {
    if (this.#refusedWrite) {
      return `its server refused a write (SQLSTATE 25006) and does not report whether it is a standby: it may have become one (target_session_attrs=${this.#target})`;
    }
    // Asked at every release: a config that takes any server reads no reports.
    if (this.#target === 'any') return undefined;
    return roleChange(this.#target, this.#roleAtOpen, reportedRole(this.serverParameters));
  }

  /** A server too old to report `in_hot_standby` says it became a standby only by refusing writes. */
  #noteRefusedWrite(error: RxpgError): RxpgError {
    if (
      error instanceof QueryError &&
      error.sqlState === '25006' &&
      this.#roleAtOpen === undefined &&
      (this.#target === 'read-write' || this.#target === 'primary')
    ) {
      this.#refusedWrite = true;
    }
    return error;
  }

  markBaseline(): void {
    this.#changes.baseline();
  }

  resetStatement(): string {
    return this.#changes.resetStatement();
  }

  run(sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions = {}): void {
    if (this.#broken) {
      sink.error(sessionClosedError());
      return;
    }
    if (this.engine.kind === 'cockroachdb' && (options.batchSize ?? 0) > 0 && !this.#portalsChecked) {
      this.#streamOnCockroach(sql, params, sink, options);
      return;
    }
    let values: (string | Buffer | null)[] | undefined;
    if (params.length > 0) {
      try {
        values = wireValues(params);
      } catch (error) {
        sink.error(
          new QueryError('data', `a parameter could not be sent: ${error instanceof Error ? error.message : String(error)}`, { statement: sql }, { cause: error }),
        );
        return;
      }
    }
    this.#changes.statement(sql);
    const batchSize = options.batchSize ?? 0;
    const prelude = options.prelude;
    if (prelude !== undefined && prelude.length > 0 && !PgStatement.extended(values !== undefined, batchSize, options.timeoutMillis !== undefined)) {
      // A text without parameters goes by the simple protocol, which may hold several statements
      // and so cannot share a pipeline: the prelude takes a round trip of its own.
      runPreludeFirst(this, sql, params, sink, options);
      return;
    }
    const timeout =
      options.timeoutMillis === undefined
        ? undefined
        : {
            value: `${Math.max(1, Math.ceil(options.timeoutMillis))}ms`,
            // In a transaction (or one the prelude begins) the local setting would outlive the statement.
            restore: this.transactionStatus === 'idle' && !prelude?.length ? undefined : `${this.#params.statementTimeoutMillis}ms`,
          };
    const cache = this.#prepareMode.named ? this.#prepared : undefined;
    if (options.copy?.copyIn !== undefined) this.#warnOfCopyFrom();
    const statement = new PgStatement(sql, values, sink, this.#shapes, batchSize, timeout, cache, prelude, this.#onCommand, options.copy);
    this.#rerunnable = this.transactionStatus === 'idle' && !prelude?.length;
    this.#current = statement;
    this.#submit(statement);
  }

  pipelineFit(sql: string, params: readonly unknown[], options: RunOptions = {}): PipelineFit {
    // A parameterised statement (one statement, by the extended protocol) outside any
    // transaction, named, on a session in its config's state, that reads as touching rows only.
    if (this.#broken || this.#status !== 'I' || this.#transactionPooler || !this.#prepareMode.named) return 'alone';
    if (params.length === 0 || (options.batchSize ?? 0) > 0 || options.copy !== undefined || (options.prelude?.length ?? 0) > 0) return 'alone';
    if (!this.#changes.sharable(sql)) return 'alone';
    // Behind others only once parsed and described here: its Bind cannot fail on a Parse in flight.
    return this.#prepared.isReady(sql) ? 'behind' : 'ahead';
  }

  runPipelined(sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions = {}): boolean {
    if (this.#current === null || this.pipelineFit(sql, params, options) !== 'behind') return false;
    let values: (string | Buffer | null)[];
    try {
      values = wireValues(params);
    } catch {
      // Not sent: run() reports it when the statement runs in turn.
      return false;
    }
    const timeout = options.timeoutMillis === undefined ? undefined : { value: `${Math.max(1, Math.ceil(options.timeoutMillis))}ms`, restore: undefined };
    const statement = new PgStatement(sql, values, sink, this.#shapes, 0, timeout, this.#prepared, [], this.#onCommand, undefined);
    this.#changes.statement(sql);
    this.#sendBehind(statement);
    return true;
  }

  /** Writes `statement` now, to be answered after the statements in flight (see runPipelined). */
  #sendBehind(statement: PgStatement): void {
    this.#followers.push(statement);
    this.#holdWritesForTick();
    const wrap = this.clientCalls?.wrap;
    try {
      if (wrap === undefined) statement.submit(this.#internals.connection);
      else wrap(() => statement.submit(this.#internals.connection));
    } catch (error) {
      this.#submitFailed(error);
    }
  }

  /**
   * Pipelined statements of one tick go out in one write: callers whose statements ended in the
   * same socket read send their next ones in the same microtask flush, and a write (a syscall,
   * and on loopback the server's wake-up) per statement was a third of the client's CPU. The
   * socket is corked until the tick's callbacks have run, as postgres.js does.
   */
  #holdWritesForTick(): void {
    const stream = this.#internals.connection.stream;
    if (this.#writesHeld || stream.cork === undefined || stream.uncork === undefined) return;
    this.#writesHeld = true;
    stream.cork();
    process.nextTick(() => {
      this.#writesHeld = false;
      stream.uncork?.();
    });
  }

  runBatch(entries: readonly BatchEntry[], sink: BatchSink, options: BatchRunOptions = {}): void {
    if (this.#broken) {
      sink.error(sessionClosedError(), undefined, false);
      return;
    }
    const sent: PgBatchEntry[] = [];
    for (let index = 0; index < entries.length; index++) {
      const { sql, params } = entries[index];
      try {
        sent.push({ text: sql, values: wireValues(params) });
      } catch (error) {
        const message = `a parameter of statement ${index + 1} of the batch could not be sent: ${error instanceof Error ? error.message : String(error)}`;
        sink.error(new QueryError('data', message, { statement: sql }, { cause: error }), index, false);
        return;
      }
    }
    for (const { sql } of entries) this.#changes.statement(sql);
    const prelude = options.prelude ?? [];
    const outside = this.transactionStatus === 'idle' && prelude.length === 0;
    // Outside a transaction the statements before one Sync are the protocol's implicit
    // transaction; a BEGIN of the batch's own only when it asks for settings.
    const own = outside && options.transaction?.settings === true ? options.transaction : undefined;
    const timeout =
      options.timeoutMillis === undefined
        ? undefined
        : {
            value: `${Math.max(1, Math.ceil(options.timeoutMillis))}ms`,
            // Its own transaction (implicit or explicit) ends with the batch, and the local setting with it.
            restore: outside ? undefined : `${this.#params.statementTimeoutMillis}ms`,
          };
    const batch = new PgBatch(
      sent,
      sink,
      this.#shapes,
      { prelude: own ? own.begin : prelude, postlude: own ? [own.commit] : [], timeout, commitsAtEnd: outside },
      this.#prepareMode.named ? this.#prepared : undefined,
      this.#onCommand,
    );
    this.#rerunnable = outside;
    this.#current = batch;
    this.#submit(batch);
  }

  /** Hands a statement or batch to pg, through the driver's wrapper when one is set. */
  #submit(statement: PgStatement | PgBatch): void {
    const wrap = this.clientCalls?.wrap;
    try {
      if (wrap === undefined) this.#client.query(statement as unknown as pg.QueryConfig);
      else wrap(() => this.#client.query(statement as unknown as pg.QueryConfig));
    } catch (error) {
      this.#submitFailed(error);
    }
  }

  /**
   * A submission threw. Values are checked before (wireValues), so building the messages cannot
   * fail; should it all the same, pg would keep the statement as its active query with nothing
   * sent, and the session would wait for an answer for ever: it is destroyed instead, and the
   * statements on it fail.
   */
  #submitFailed(error: unknown): void {
    this.#internals.connection.stream.destroy();
    this.#lost(error instanceof Error ? error : new Error(String(error)));
  }

  /**
   * A stream on CockroachDB: only when the session says multiple_active_portals_enabled is on
   * (see {@link streamRefusal}); asked before each stream, since a SET may change it.
   */
  #streamOnCockroach(sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions): void {
    let setting: string | undefined;
    this.run('SHOW multiple_active_portals_enabled', [], {
      row: (_shape, values) => (setting = String(values[0])),
      complete: () => {
        if (setting === undefined || !/^(on|true)$/i.test(setting)) {
          sink.error(streamRefusal(this.engine, setting ?? 'unset'));
          return;
        }
        this.#portalsChecked = true;
        try {
          this.run(sql, params, sink, options);
        } finally {
          this.#portalsChecked = false;
        }
      },
      // 42704: no such variable, a release before v23.1.
      error: (error) => sink.error(error instanceof QueryError && error.sqlState === '42704' ? streamRefusal(this.engine, undefined) : error),
    });
  }

  /**
   * An engine whose COPY FROM is not one transaction (YugabyteDB commits every 20,000 rows) is
   * named once per session, as a `fallback` event, before its first copyFrom().
   */
  #warnOfCopyFrom(): void {
    if (this.#copyFromWarned) return;
    this.#copyFromWarned = true;
    const caveat = copyFromCaveat(this.engine);
    if (caveat !== undefined) this.#hooks.onDriverEvent?.({ type: 'fallback', processId: this.processId, feature: 'copy-from', detail: caveat });
  }

  /** The config's sessions send unnamed statements from now on; the first to find out says so, once per config. */
  #switchToUnnamed(): void {
    if (!this.#prepareMode.switchToUnnamed()) return;
    this.#hooks.onDriverEvent?.({
      type: 'fallback',
      processId: this.processId,
      feature: 'prepared-statements',
      detail: STALE_NAME_DETAIL,
    });
  }

  cancel(): Observable<void> {
    if (this.#broken || this.#current === null) return EMPTY;
    return new Observable<void>((subscriber) => {
      const abort = new AbortController();
      sendCancelRequest(this.#params, this.processId, this.#internals.secretKey, abort.signal).then(() => subscriber.complete());
      return () => abort.abort();
    });
  }

  close(): Observable<void> {
    return new Observable<void>((subscriber) => {
      if (this.#broken) {
        subscriber.complete();
        return;
      }
      this.#client
        .end()
        .catch(() => this.destroy())
        .finally(() => subscriber.complete());
    });
  }

  keepProcessAlive(keep: boolean): void {
    // Asked at every grant: the socket is told only of a change.
    if (this.#keptAlive === keep) return;
    this.#keptAlive = keep;
    // pg's own Client.ref()/unref() (pg.Pool's allowExitOnIdle uses them): they reach the socket.
    const client = this.#client as unknown as { ref?: () => void; unref?: () => void };
    if (keep) client.ref?.();
    else client.unref?.();
  }

  destroy(): void {
    this.#internals.connection.stream.destroy();
    this.#lost(new Error('the session was destroyed'));
  }

  #lost(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    const statement = this.#current;
    this.#current = null;
    const followers = this.#followers.splice(0);
    if (statement) {
      // Never a completion: a statement cut off is an error even if no row was missing yet. A
      // FATAL message the server sent before closing says why; prefer it over the socket error.
      const rxpgError = toRxpgError(statement.error ?? error, { statement: statement.errorText });
      statement.fail(
        rxpgError instanceof ConnectionError
          ? rxpgError
          : new ConnectionError(`connection lost while running a statement: ${rxpgError.message}`, { cause: rxpgError }),
      );
    }
    // Pipelined behind it: sent, maybe run, never answered.
    for (const follower of followers) {
      const rxpgError = toRxpgError(error, { statement: follower.errorText });
      follower.fail(
        rxpgError instanceof ConnectionError
          ? rxpgError
          : new ConnectionError(`connection lost while running a statement: ${rxpgError.message}`, { cause: rxpgError }),
      );
    }
    this.#hooks.onLost(error);
  }
}
