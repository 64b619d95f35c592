import { ConnectionError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { reasonForMysqlError } from './errno-reason.js';

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
  // `$1` in a statement given values, and no `?`: Postgres' placeholders, most likely (MySQL
  // reads `$1` as a column name). A hint on the error only; nothing valid is refused.
  const { statement, valueCount = 0 } = options;
  const hinted = valueCount > 0 && statement !== undefined && /\$\d/.test(statement) && !statement.includes('?') ? `${message} ${DOLLAR_HINT}` : message;
  return new QueryError(reason, hinted, { sqlState: mysqlError.sqlState, statement }, { cause: error });
}
