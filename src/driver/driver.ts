import type { Observable } from 'rxjs';
import type { ConnectionParams } from './connection-params.js';
import type { DriverConnection } from './driver-connection.js';
import type { ServerNotice } from './server-notice.js';

/** A NOTIFY delivered to a session that LISTENs on its channel. */
export interface ServerNotification {
  readonly channel: string;
  readonly payload: string;
  /** The process id of the session that sent it. */
  readonly processId: number;
  /** When the driver read it off the socket, by {@link ConnectionHooks.now}. */
  readonly receivedAt: number;
}

/** What a driver tells the manager about a session after it opened. */
export interface ConnectionHooks {
  /** A NOTICE, WARNING or INFO message from the server, on any statement. */
  readonly onNotice: (notice: ServerNotice) => void;
  /** The session died (socket closed, terminated by the server, protocol error). Called once. */
  readonly onLost: (error: Error) => void;
  /** A notification arrived (only backends with LISTEN/NOTIFY call it). */
  readonly onNotification?: (notification: ServerNotification) => void;
  /** The clock that stamps notifications' `receivedAt` (`Date.now` when absent). */
  readonly now?: () => number;
}

/** How a transaction should begin; each backend writes its own statements for it. */
export interface TransactionSettings {
  readonly isolationLevel?: 'read_committed' | 'repeatable_read' | 'serializable';
  readonly readOnly?: boolean;
  readonly deferrable?: boolean;
}

/**
 * The backend seam: everything the managers need from a database client library, so that
 * `src/manager` and `src/pool` never import `pg` or `mysql2`. Each backend folder implements it.
 */
export interface Driver {
  /** Backend name used in messages and events (`postgres`, `mysql`). */
  readonly dialect: string;
  /** The statements that begin a transaction with these settings (run in order). */
  beginTransaction(settings: TransactionSettings): string[];
  /**
   * Opens one session when subscribed and runs nothing but the protocol's startup on it: emits
   * the session once and completes, or errors with an RxpgError (`ConnectionError`, reason
   * `connection` or `authentication`). Unsubscribing abandons the attempt: its socket is
   * destroyed, and a session that opens late is closed, never leaked.
   */
  connect(params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection>;
}
