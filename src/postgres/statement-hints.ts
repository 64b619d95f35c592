import { QueryError } from '../errors/query-error.js';
import type { RxpgError } from '../errors/rxpg-error.js';

/** Said when a statement with values has a `?` and no `$n`: MySQL's placeholders, most likely. */
export const QUESTION_MARK_HINT = "Postgres placeholders are $1, $2, …; `?` is MySQL's.";

/**
 * A server error of a statement, said in the caller's terms:
 *  - a wrong number of values (08P01 at Bind) names neither rxpg's internal prepared statement
 *    nor the protocol, but the placeholders the statement has and the values given;
 *  - a statement given values whose text has a `?` and no `$n` gets {@link QUESTION_MARK_HINT}.
 * Only the message changes; SQLSTATE and the server's fields stay. Nothing is refused here: the
 * jsonb `?` operator is valid SQL, so a `?` only ever adds a hint to an error.
 */
export function explainStatementError(error: RxpgError, text: string, valueCount: number): RxpgError {
  if (!(error instanceof QueryError) || valueCount === 0) return error;
  let message = error.message;
  if (error.sqlState === '08P01') {
    const required = requiredCount(message, valueCount);
    if (required !== undefined) {
      message = `The statement has ${placeholders(required)} but ${valueCount} value${valueCount === 1 ? ' was' : 's were'} given: pass one value per placeholder.`;
    } else {
      message = message.replace(/\s*"rxpg_\w+"/g, '');
    }
  }
  if (text.includes('?') && !/\$\d/.test(text)) message = `${message} ${QUESTION_MARK_HINT}`;
  if (message === error.message) return error;
  return new QueryError(
    error.reason,
    message,
    {
      sqlState: error.sqlState,
      severity: error.severity,
      detail: error.detail,
      hint: error.hint,
      position: error.position,
      where: error.where,
      schema: error.schema,
      table: error.table,
      column: error.column,
      constraint: error.constraint,
      statement: error.statement,
    },
    { conn: error.conn, cause: error.cause ?? error, isRetryable: error.isRetryable },
  );
}

/**
 * The placeholder count in the server's "bind message supplies M parameters, but prepared
 * statement "…" requires N", in whatever language: with the quoted name taken out, the message
 * holds two numbers, one of them the count of values sent. Undefined when it does not.
 */
function requiredCount(message: string, valueCount: number): number | undefined {
  const numbers = message.replace(/"[^"]*"|»[^«]*«|“[^”]*”|«[^»]*»/g, '').match(/\d+/g)?.map(Number) ?? [];
  if (numbers.length !== 2) return undefined;
  const [first, second] = numbers;
  if (first === valueCount && second !== valueCount) return second;
  if (second === valueCount && first !== valueCount) return first;
  return undefined;
}

function placeholders(count: number): string {
  if (count === 0) return 'no placeholders';
  return count === 1 ? '1 placeholder ($1)' : `${count} placeholders ($1 … $${count})`;
}
