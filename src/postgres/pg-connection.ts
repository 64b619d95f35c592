import pg from 'pg';
import { EMPTY, Observable } from 'rxjs';
import type { ConnectionHooks } from '../driver/driver.js';
import type { DriverConnection, TransactionStatus } from '../driver/driver-connection.js';
import type { ConnectionParams } from '../driver/connection-params.js';
import { runPreludeFirst } from '../driver/run-prelude.js';
import type { RunOptions, StatementSink } from '../driver/statement-sink.js';
import { ConnectionError, sessionClosedError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import { sendCancelRequest } from './pg-cancel.js';
import { tapMessages, type TappableStream } from './message-tap.js';
import { toRxpgError } from './pg-error.js';
import { PgStatement, type ProtocolWriter } from './pg-statement.js';
import { PreparedStatements } from './prepared-statements.js';
import { ResultShapes } from './result-shapes.js';
// pg's own value serialisation (Dates, arrays, Buffers, JSON, toPostgres) keeps parameters
// compatible with what pg users pass.
import pgUtils from 'pg/lib/utils.js';

const { prepareValue } = pgUtils;

/** The pg internals a session uses beyond pg's typings. */
export interface PgClientInternals {
  readonly processID: number;
  readonly secretKey: number;
  readonly connection: ProtocolWriter & {
    readonly stream: TappableStream & { destroy(): void; cork?: () => void; uncork?: () => void };
    on(event: 'readyForQuery', listener: () => void): void;
    on(event: 'notification', listener: (message: { channel: string; payload?: string; processId: number }) => void): void;
  };
  getTransactionStatus(): string | null;
}

interface NoticeFields {
  readonly severity?: string;
  readonly message?: string;
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly where?: string;
}

/** A pg Client behind the driver seam: one session, one statement at a time. */
export class PgConnection implements DriverConnection {
  readonly processId: number;
  readonly #client: pg.Client;
  readonly #internals: PgClientInternals;
  readonly #params: ConnectionParams;
  readonly #hooks: ConnectionHooks;
  readonly #shapes: ResultShapes;
  readonly #prepared = new PreparedStatements();
  #current: PgStatement | null = null;
  #broken = false;

  constructor(client: pg.Client, params: ConnectionParams, hooks: ConnectionHooks) {
    this.#client = client;
    this.#internals = client as unknown as PgClientInternals;
    this.#params = params;
    this.#hooks = hooks;
    this.#shapes = new ResultShapes(params.typeParsers);
    this.processId = this.#internals.processID;
    // Registered after pg's own listener, so pg has recorded the transaction status already.
    this.#internals.connection.on('readyForQuery', () => {
      const statement = this.#current;
      if (statement === null) return;
      this.#current = null;
      statement.finish((error) => toRxpgError(error, { statement: statement.errorText }));
    });
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
    // Rows and notifications are read off the socket ahead of pg's parser; should pg's socket
    // ever look different from what the tap expects, they come through pg's own events instead.
    const onNotification = hooks.onNotification;
    const now = hooks.now ?? Date.now;
    const tapped = tapMessages(this.#internals.connection.stream, now, {
      notification: onNotification,
      dataRow: (buffer, start) => this.#current !== null && this.#current.takeDataRow(buffer, start),
    });
    if (!tapped && onNotification) {
      this.#internals.connection.on('notification', (message: { channel: string; payload?: string; processId: number }) =>
        onNotification({ channel: message.channel, payload: message.payload ?? '', processId: message.processId, receivedAt: now() }),
      );
    }
    client.on('error', (error: Error) => this.#lost(error));
    client.on('end', () => this.#lost(new Error('the server closed the connection')));
  }

  get transactionStatus(): TransactionStatus {
    const status = this.#internals.getTransactionStatus();
    return status === 'T' ? 'transaction' : status === 'E' ? 'failed' : 'idle';
  }

  get isBroken(): boolean {
    return this.#broken;
  }

  run(sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions = {}): void {
    if (this.#broken) {
      sink.error(sessionClosedError());
      return;
    }
    let values: (string | Buffer | null)[] | undefined;
    if (params.length > 0) {
      try {
        values = params.map((param) => prepareValue(param));
      } catch (error) {
        sink.error(
          new QueryError('data', `a parameter could not be sent: ${error instanceof Error ? error.message : String(error)}`, { statement: sql }, { cause: error }),
        );
        return;
      }
    }
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
    const statement = new PgStatement(sql, values, sink, this.#shapes, batchSize, timeout, this.#prepared, prelude);
    this.#current = statement;
    this.#client.query(statement as unknown as pg.QueryConfig);
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

  destroy(): void {
    this.#internals.connection.stream.destroy();
    this.#lost(new Error('the session was destroyed'));
  }

  #lost(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    const statement = this.#current;
    this.#current = null;
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
    this.#hooks.onLost(error);
  }
}
