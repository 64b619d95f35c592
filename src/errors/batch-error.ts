import { QueryError } from './query-error.js';

/**
 * A statement of a batch failed. It is the server's error (reason, SQLSTATE and every field,
 * `isRetryable` as for the statement alone), with the statement's place in the batch: `index`
 * (from 0) of `size`. The statements after it did not run; a batch that was its own transaction
 * was rolled back as a whole.
 *
 * @example
 * ```ts
 * import { BatchError, PgManager } from 'rxpg';
 *
 * PgManager.getInstance()
 *   .batch([
 *     ['INSERT INTO orders (id) VALUES ($1)', [1]],
 *     ['INSERT INTO orders (id) VALUES ($1)', [1]],
 *   ])
 *   .subscribe({
 *     error: (err) => {
 *       if (err instanceof BatchError) console.log(err.index, err.statement, err.reason); // 1 'INSERT INTO orders …' 'unique_violation'
 *     },
 *   });
 * ```
 * @see {@link DbManager.batch}
 */
export class BatchError extends QueryError {
  override readonly name = 'BatchError';
  /** The failed statement's place in the batch, from 0. */
  readonly index: number;
  /** How many statements the batch had. */
  readonly size: number;

  /** @internal */
  constructor(cause: QueryError, index: number, size: number, rolledBack: boolean) {
    const rest = index + 1 < size ? ` Statement${index + 2 < size ? `s ${index + 2}–${size}` : ` ${size}`} did not run.` : '';
    const outcome = rolledBack
      ? ' The batch was rolled back: nothing it did was committed.'
      : ' It ran inside a transaction: the statements before it are part of that transaction, which has not committed.';
    super(
      cause.reason,
      `Statement ${index + 1} of ${size} of the batch failed: ${cause.message.replace(/\.$/, '')}.${rest}${outcome}`,
      {
        sqlState: cause.sqlState, severity: cause.severity, detail: cause.detail, hint: cause.hint, position: cause.position, where: cause.where,
        schema: cause.schema, table: cause.table, column: cause.column, constraint: cause.constraint, statement: cause.statement,
      },
      { conn: cause.conn, cause, isRetryable: cause.isRetryable },
    );
    this.index = index;
    this.size = size;
  }
}
