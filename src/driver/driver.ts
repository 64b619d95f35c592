import type { Observable } from 'rxjs';
import type { ConnectionParams, ConnectionSource, ResolvedConnection, SessionSettings } from './connection-params.js';
import type { DriverConnection } from './driver-connection.js';
import type { ServerNotice } from './server-notice.js';
import type { StatementSummary } from './statement-sink.js';

/**
 * A NOTIFY delivered to a session that LISTENs on its channel.
 *
 * @category Driver seam
 */
export interface ServerNotification {
  readonly channel: string;
  readonly payload: string;
  /** The process id of the session that sent it. */
  readonly processId: number;
  /** When the driver read it off the socket, by {@link ConnectionHooks.now}. */
  readonly receivedAt: number;
}

/**
 * What a driver has to say about a session that is not the answer to a statement.
 *
 * @category Driver seam
 */
export type DriverEvent =
  /**
   * The driver could not use its fast path on this session and fell back to a slower,
   * equally correct one (for pg: its own parser instead of rxpg's message tap, or unnamed statements instead of named ones, for the whole config, behind a transaction pooler), and why.
   */
  | { readonly type: 'fallback'; readonly processId: number; readonly feature: string; readonly detail: string }
  /** Which host of a list a new session went to, or why one was passed over (see the `host` event). */
  | {
      readonly type: 'host';
      readonly host: string;
      readonly port: number;
      readonly outcome: 'chosen' | 'passed_over';
      readonly why: string;
      readonly processId?: number;
    };

/**
 * What a driver tells the manager about a session after it opened.
 *
 * @category Driver seam
 */
export interface ConnectionHooks {
  /** A NOTICE, WARNING or INFO message from the server, on any statement. */
  readonly onNotice: (notice: ServerNotice) => void;
  /** The session died (socket closed, terminated by the server, protocol error). Called once. */
  readonly onLost: (error: Error) => void;
  /** A notification arrived (only backends with LISTEN/NOTIFY call it). */
  readonly onNotification?: (notification: ServerNotification) => void;
  /** Something worth logging about how the driver runs this session (see {@link DriverEvent}). */
  readonly onDriverEvent?: (event: DriverEvent) => void;
  /** The clock that stamps notifications' `receivedAt` (`Date.now` when absent). */
  readonly now?: () => number;
}

/**
 * How a transaction should begin; each backend writes its own statements for it.
 *
 * @category Driver seam
 */
export interface TransactionSettings {
  readonly isolationLevel?: 'read_committed' | 'repeatable_read' | 'serializable';
  readonly readOnly?: boolean;
  readonly deferrable?: boolean;
}

/**
 * The backend seam: everything the managers need from a database client library, so that
 * `src/manager` and `src/pool` never import `pg` or `mysql2`, and never write a backend's SQL. A
 * third backend is a folder that implements this interface (and {@link DriverConnection}) and
 * builds a manager with it, as `src/postgres` and `src/mysql` do.
 * @category Driver seam
 */
export interface Driver {
  /** Backend name used in messages and events (`postgres`, `mysql`). */
  readonly dialect: string;
  /**
   * Reads a config's connection source (URL, keyword string or fields) with this backend's
   * meaning and defaults (its environment variables, its default port). Throws a
   * ConfigurationError that says how to fix a mistake, never containing the password.
   */
  resolveConnection(source: ConnectionSource, settings: SessionSettings, conn: string): ResolvedConnection;
  /** The statements that begin a transaction with these settings (run in order). */
  beginTransaction(settings: TransactionSettings): string[];
  /** The statement that commits the open transaction. */
  commitTransaction(): string;
  /** The statement that rolls the open transaction back (also how a returned session is reset). */
  rollbackTransaction(): string;
  /** The statement that sets a savepoint called `name` (an identifier rxpg made: letters, digits, `_`). */
  savepoint(name: string): string;
  /** The statement that releases (keeps the work of) the savepoint `name`. */
  releaseSavepoint(name: string): string;
  /** The statement that undoes the work since the savepoint `name`, keeping the transaction. */
  rollbackToSavepoint(name: string): string;
  /**
   * Whether a COMMIT that completed without error really committed. Postgres answers COMMIT of
   * a failed transaction with the command tag ROLLBACK and no error.
   */
  committed(summary: StatementSummary): boolean;
  /**
   * Opens one session when subscribed and runs nothing but the protocol's startup on it: emits
   * the session once and completes, or errors with an RxpgError (`ConnectionError`, reason
   * `connection` or `authentication`). Unsubscribing abandons the attempt: its socket is
   * destroyed, and a session that opens late is closed, never leaked. Never throws.
   */
  connect(params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection>;
  /**
   * Sets (undefined: clears) how this driver's sessions make the call into their client library
   * that starts a statement: from then on, they make it as `wrap(call)`. rxpg/opentelemetry
   * sets it while a manager is instrumented, to suppress the library's own instrumentation
   * (instrumentation-pg opens a span in `pg.Client.prototype.query` that only a promise or a
   * callback would end, and rxpg uses neither). Optional: a driver whose library has no such
   * instrumentation leaves it out.
   */
  wrapClientCalls?(wrap: ClientCallWrapper | undefined): void;
  /**
   * Checks copyFrom()'s `types` option when it is given (its rows to go in a binary format, one
   * type per column): returns it as the writer will get it, or throws a ConfigurationError that
   * says what to fix. A backend without a binary COPY format throws, saying so; one without
   * this method makes copyFrom() refuse the option.
   */
  checkCopyTypes?(types: unknown, method: string): readonly string[];
}

/**
 * Runs a call into a client library and returns its result (see {@link Driver.wrapClientCalls}).
 *
 * @category Driver seam
 */
export type ClientCallWrapper = <R>(call: () => R) => R;
