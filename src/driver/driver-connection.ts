import type { Observable } from 'rxjs';
import type { BatchEntry, BatchRunOptions, BatchSink } from './batch-sink.js';
import type { RunOptions, StatementSink } from './statement-sink.js';

/**
 * Transaction state as the server last reported it (Postgres' ReadyForQuery status).
 *
 * @category Driver seam
 */
export type TransactionStatus = 'idle' | 'transaction' | 'failed';

/**
 * One open session. Runs one statement at a time: the caller (the manager's Connection)
 * serialises statements and never calls `run` while another statement is in flight.
 * @category Driver seam
 */
export interface DriverConnection {
  /** The server's id of this session (Postgres backend pid, MySQL connection id). */
  readonly processId: number;
  /** Transaction state after the last statement. */
  readonly transactionStatus: TransactionStatus;
  /** True once the session is dead or unusable; it is then never used again. */
  readonly isBroken: boolean;
  /**
   * What a statement run since {@link DriverConnection.markBaseline} did that may have left the
   * session in another state than its config defines (a setting, the role, a temporary table,
   * a lock, a LISTEN, a prepared statement), in a few words; undefined when nothing was seen.
   * The pool resets such a session before the next lease gets it.
   */
  readonly sessionChange: string | undefined;
  /**
   * Why this session no longer serves its config, in a few words, when its server changed role
   * since it opened (a standby promoted under a config that asks for a standby); undefined while
   * it serves. The pool closes such a session when it comes back (release reason
   * `role_changed`) and opens another as the config's target asks. Optional: a backend without
   * server roles leaves it out.
   */
  readonly roleChange?: string | undefined;
  /** The session's state now is the one its config defines: after connect and `initStatement`, and after a reset. */
  markBaseline(): void;
  /**
   * The statement that puts a changed session back in the state it opened in (settings, role,
   * temporary tables, locks, LISTENs, prepared statements and cursors of the user's); the pool
   * then runs `initStatement` again. Undefined when the backend cannot do that in place: the
   * pool then closes the session instead of pooling it.
   */
  resetStatement(): string | undefined;
  /**
   * Sends `sql` with bound `params` and reports rows, completion or error to `sink`, once. With
   * `options.batchSize` the rows come through a server-side cursor in batches, pausing after
   * each (see {@link StatementSink.suspended}).
   */
  run(sql: string, params: readonly unknown[], sink: StatementSink, options?: RunOptions): void;
  /**
   * Whether an independent caller's statement may share this session's pipeline with other
   * callers' statements now (see {@link PipelineFit}). Optional, with `runPipelined`: a driver
   * without pipelining (MySQL) runs every statement in turn.
   */
  pipelineFit?(sql: string, params: readonly unknown[], options?: RunOptions): PipelineFit;
  /**
   * Sends `sql` behind the statements in flight, in the same pipeline, and returns true; or
   * sends nothing and returns false when it cannot go now (its fit is not `behind`; it then runs
   * in turn through {@link DriverConnection.run}). The session calls it only while every
   * statement in flight fits a shared pipeline. A pipelined statement has its own Sync, so it
   * succeeds or fails alone, and its sink hears of it in the order sent.
   */
  runPipelined?(sql: string, params: readonly unknown[], sink: StatementSink, options?: RunOptions): boolean;
  /**
   * Sends several statements at once and reports each one's rows and end to `sink`, in order
   * (Postgres: one pipeline, one Sync). Outside a transaction the batch must commit as a whole
   * or not at all (see {@link BatchRunOptions.transaction}); after a statement fails the rest do
   * not run. Optional: without it the manager runs the statements one after another with
   * {@link runBatchInTurn}, inside a transaction of their own.
   */
  runBatch?(entries: readonly BatchEntry[], sink: BatchSink, options?: BatchRunOptions): void;
  /**
   * Asks the server to stop the statement now running (a Postgres CancelRequest, a MySQL
   * `KILL QUERY`). Completes when the server has received the request (never errors); the
   * running statement then ends through its sink (with a `canceled` error, or normally if it
   * won the race).
   */
  cancel(): Observable<void>;
  /** Ends the session politely; completes when it is closed. Never errors. */
  close(): Observable<void>;
  /** Drops the socket at once. */
  destroy(): void;
  /**
   * Whether this session's socket keeps Node's event loop alive (`socket.ref()` /
   * `socket.unref()`). The pool turns it off while the session sits idle and on while it is
   * leased, as pg.Pool's `allowExitOnIdle` does, so an idle pool never holds a finished process
   * open. Optional: a backend without it keeps its sockets referenced.
   */
  keepProcessAlive?(keep: boolean): void;
}

/**
 * How a statement fits a pipeline shared with other callers' statements on one session:
 * `alone` never shares one (it may change the session, or belongs to a transaction); `ahead`
 * may run with others sent behind it but cannot go behind others yet (the session has not
 * parsed it: its Parse could fail and take the statement's name with it); `behind` may be sent
 * behind others now.
 *
 * @category Driver seam
 */
export type PipelineFit = 'alone' | 'ahead' | 'behind';
