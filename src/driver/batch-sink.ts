import type { RowShape } from '../rows/ordered-row.js';
import type { StatementSummary } from './statement-sink.js';

/**
 * One statement of a batch: its text (one statement, sent by the extended protocol) and its
 * parameters.
 *
 * @category Driver seam
 */
export interface BatchEntry {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * Receives a batch's results from a driver: rows and each statement's end as they arrive, in
 * order, then exactly one of `complete` or `error`, and only when the session is ready for the
 * next statement (or dead).
 *
 * @category Driver seam
 */
export interface BatchSink {
  /** One row of statement `index`, as soon as it is parsed; `values` is handed over, not copied. */
  row(index: number, shape: RowShape, values: unknown[]): void;
  /** Statement `index` ended; the ones before it have ended too. */
  statement(index: number, summary: StatementSummary): void;
  /** Every statement ran and the session is ready: committed, when the batch was its own transaction. */
  complete(summary: { readonly prelude?: readonly string[] }): void;
  /**
   * The batch failed: `index` is the statement the server refused (the ones after it did not
   * run), undefined when the failure was not one statement's (the prelude, a lost session).
   * `ownTransaction`: the batch ran as a transaction of its own, so nothing it did was
   * committed; false when it ran inside the caller's.
   */
  error(error: Error, index: number | undefined, ownTransaction: boolean): void;
  /**
   * True once the caller gave the batch up (it unsubscribed). A driver that runs the statements
   * one after another sends no more of them, and rolls back a transaction of the batch's own.
   */
  readonly abandoned?: () => boolean;
}

/**
 * The statements that make a batch one transaction when it starts outside one, in the driver's
 * SQL. A driver that pipelines may use the protocol's own implicit transaction instead when
 * `settings` is false (Postgres: statements before one Sync).
 *
 * @category Driver seam
 */
export interface BatchTransaction {
  readonly begin: readonly string[];
  readonly commit: string;
  readonly rollback: string;
  /** Whether `begin` asks for more than a plain transaction (an isolation level, read-only). */
  readonly settings: boolean;
}

/**
 * How to run a batch.
 *
 * @category Driver seam
 */
export interface BatchRunOptions {
  /** A server-side limit for each statement, as {@link RunOptions.timeoutMillis}. */
  readonly timeoutMillis?: number;
  /** Statements without parameters to run first (a transaction's BEGIN), as {@link RunOptions.prelude}. */
  readonly prelude?: readonly string[];
  /**
   * Make the batch one transaction when it starts outside one (no transaction open and no
   * prelude): every statement or none. Inside a transaction the batch is part of it.
   */
  readonly transaction?: BatchTransaction;
}
