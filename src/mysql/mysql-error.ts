import { ConnectionError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { reasonForMysqlError } from './errno-reason.js';
import { countPlaceholders, describePlaceholders } from './placeholders.js';

const DOLLAR_HINT = "MySQL and MariaDB placeholders are ?; $1 is Postgres'.";

/** What mysql2 puts on its errors. */
interface MysqlDriverError extends Error {
  readonly errno?: number;
  readonly sqlState?: string;
  readonly sqlMessage?: string;
  readonly code?: string;
  readonly fatal?: boolean;
}

/** Converts a mysql2 error into an RxpgError; `statement` is the SQL text, never the values. */
export function toRxpgMysqlError(error: unknown, options: { statement?: string; valueCount?: number } = {}): RxpgError {
  if (error instanceof RxpgError) return error;
  const mysqlError = (error instanceof Error ? error : new Error(String(error))) as MysqlDriverError;
  const reason = reasonForMysqlError(mysqlError.errno, mysqlError.sqlState, mysqlError.code);
  const message = mysqlError.sqlMessage ?? mysqlError.message;
  if (mysqlError.fatal || reason === 'connection' || reason === 'authentication' || reason === 'insufficient_resources') {
    return new ConnectionError(`${message}${mysqlError.errno ? ` (errno ${mysqlError.errno})` : ''}`, {
      reason:
        reason === 'authentication' || reason === 'insufficient_resources' || reason === 'undefined_object' || reason === 'permission' ? reason : 'connection',
      cause: error,
    });
  }
  const { statement, valueCount = 0 } = options;
  let hinted = statement === undefined ? message : `${message}${placeholderHint(statement, valueCount)}`;
  // Too few values: 1210 "Incorrect arguments to mysqld_stmt_execute" (none at all: the text
  // protocol, where the server meets a bare `?` as a syntax error, 1064).
  if (statement !== undefined && (mysqlError.errno === 1210 || (mysqlError.errno === 1064 && valueCount === 0))) {
    const placeholders = countPlaceholders(statement);
    if (placeholders > valueCount) hinted = `${message}: ${valueCountMessage(placeholders, valueCount)}`;
  }
  return new QueryError(reason, hinted, { sqlState: mysqlError.sqlState, statement }, { cause: error });
}

/** What a wrong number of values is told as, on either side of the wire. */
export function valueCountMessage(placeholders: number, values: number): string {
  const given = values === 0 ? 'no values were' : `${values} value${values === 1 ? ' was' : 's were'}`;
  return `The statement has ${describePlaceholders(placeholders)} but ${given} given: pass one value per placeholder.`;
}

/**
 * `$1` in a statement given values, and no `?`: Postgres' placeholders, most likely (MySQL
 * reads `$1` as a column name). A hint to append to an error; nothing valid is refused.
 */
export function placeholderHint(statement: string, valueCount: number): string {
  return valueCount > 0 && /\$\d/.test(statement) && !statement.includes('?') ? ` ${DOLLAR_HINT}` : '';
}
