import type { RowShape } from '../rows/ordered-row.js';
import type { CopyHandlers } from './copy-handlers.js';

/**
 * How a statement ended successfully.
 *
 * @category Driver seam
 */
export interface StatementSummary {
  /** The command tag's verb (`SELECT`, `INSERT`, …) of the last statement. */
  readonly command: string;
  /** Rows returned or affected, as the server counted them (null when it did not say). */
  readonly rowCount: number | null;
  /** Statements that ran ahead of it as its prelude (see {@link RunOptions.prelude}). */
  readonly prelude?: readonly string[];
  /**
   * The statement is a COPY to or from the client (`copyTo()`, `copyFrom()`): its data goes
   * through these handlers. A driver without COPY fails such a statement with a `QueryError` of
   * reason `unsupported`.
   */
  readonly copy?: CopyHandlers;
}

/**
 * A statement read through a server-side cursor, paused between batches: `fetch()` asks for the
 * next batch, `close()` gives up the rest (the statement then completes through its sink).
 * Exactly one of the two is called per pause.
 * @category Driver seam
 */
export interface CursorControl {
  /** Asks for the next batch. */
  fetch(): void;
  /** Gives up the rest of the result. */
  close(): void;
}

/**
 * Receives one statement's results from a driver. `row` is called once per row as it is parsed,
 * then exactly one of `complete` or `error`, and only when the session is ready for the next
 * statement (or dead). A statement run with a `batchSize` pauses after each full batch and
 * calls `suspended` with the control that resumes or ends it.
 * @category Driver seam
 */
export interface StatementSink {
  /** One row, as soon as it is parsed; `values` is handed over, not copied. */
  row(shape: RowShape, values: unknown[]): void;
  /** A cursor statement paused after a full batch. */
  suspended?(control: CursorControl): void;
  /** The statement ended and the session is ready for the next one. */
  complete(summary: StatementSummary): void;
  /** The statement failed (or the session died). */
  error(error: Error): void;
  /**
   * Pipelining only: the statement did not run (its prepared name was missing on a transaction
   * pooler's server connection) and was sent again behind the statements now in flight, which
   * the server answers first. It starts again when their turn is over.
   */
  requeued?(): void;
}

/**
 * How to run a statement.
 *
 * @category Driver seam
 */
export interface RunOptions {
  /** Read through a server-side cursor, this many rows per fetch, pausing between fetches. */
  readonly batchSize?: number;
  /**
   * A server-side time limit for this statement alone (Postgres: `statement_timeout`, per
   * Execute for a cursor), restored to the session's default afterwards, also inside a
   * transaction.
   */
  readonly timeoutMillis?: number;
  /**
   * Statements without parameters to run first, in order, as part of this statement (the
   * BEGIN of a transaction travels with its first statement). Their results are not reported;
   * the first of them to fail is this statement's error and the statement is not run. A driver
   * that can pipelines them with the statement in one round trip; {@link runPreludeFirst} runs
   * them one by one for one that cannot.
   */
  readonly prelude?: readonly string[];
  /**
   * The statement is a COPY to or from the client (`copyTo()`, `copyFrom()`): its data goes
   * through these handlers. A driver without COPY fails such a statement with a `QueryError` of
   * reason `unsupported`.
   */
  readonly copy?: CopyHandlers;
}
