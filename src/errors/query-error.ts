import type { ErrorReason } from './error-reason.js';
import { RxpgError } from './rxpg-error.js';

/** What the server said about a failed statement. Every field the server did not send is `undefined`. */
export interface ServerErrorFields {
  readonly sqlState: string | undefined;
  readonly severity: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  /** 1-based character position in the statement text. */
  readonly position: number | undefined;
  readonly where: string | undefined;
  readonly schema: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly constraint: string | undefined;
}

/**
 * The server rejected a statement. Carries SQLSTATE and every field of the server's error
 * message, the statement text (never the parameter values) and a stack that ends in the code
 * that called `query()`, not in the protocol parser.
 *
 * @example
 * ```ts
 * import { PgManager, QueryError } from 'rxpg';
 *
 * PgManager.getInstance().query('INSERT INTO users (email) VALUES ($1)', ['a@b.c']).subscribe({
 *   error: (err) => {
 *     if (err instanceof QueryError && err.reason === 'unique_violation') {
 *       console.log(err.constraint, err.detail);
 *     }
 *   },
 * });
 * ```
 * @see {@link RxpgError}
 */
export class QueryError extends RxpgError implements ServerErrorFields {
  override readonly name: string = 'QueryError';
  readonly sqlState: string | undefined;
  readonly severity: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly position: number | undefined;
  readonly where: string | undefined;
  readonly schema: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly constraint: string | undefined;
  /** The statement text as sent; parameter values are never included. */
  readonly statement: string | undefined;

  constructor(
    reason: ErrorReason,
    message: string,
    fields: Partial<ServerErrorFields> & { statement?: string },
    options: { conn?: string; cause?: unknown; isRetryable?: boolean } = {},
  ) {
    super('RXPG_QUERY', reason, message, options);
    this.sqlState = fields.sqlState;
    this.severity = fields.severity;
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.position = fields.position;
    this.where = fields.where;
    this.schema = fields.schema;
    this.table = fields.table;
    this.column = fields.column;
    this.constraint = fields.constraint;
    this.statement = fields.statement;
  }
}
