import type { RowShape } from '../rows/ordered-row.js';

/** How a statement ended successfully. */
export interface StatementSummary {
  /** The command tag's verb (`SELECT`, `INSERT`, …) of the last statement. */
  readonly command: string;
  /** Rows returned or affected, as the server counted them (null when it did not say). */
  readonly rowCount: number | null;
}

/**
 * Receives one statement's results from a driver. `row` is called once per row as it is parsed,
 * then exactly one of `complete` or `error`, and only when the session is ready for the next
 * statement (or dead).
 */
export interface StatementSink {
  row(shape: RowShape, values: unknown[]): void;
  complete(summary: StatementSummary): void;
  error(error: Error): void;
}
