import { ConnectionError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { reasonForMysqlError } from './errno-reason.js';

/** What mysql2 puts on its errors. */
interface MysqlDriverError extends Error {
  readonly errno?: number;
  readonly sqlState?: string;
  readonly sqlMessage?: string;
  readonly code?: string;
  readonly fatal?: boolean;
}

/** Converts a mysql2 error into an RxpgError; `statement` is the SQL text, never the values. */
export function toRxpgMysqlError(error: unknown, options: { statement?: string } = {}): RxpgError {
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
  return new QueryError(reason, message, { sqlState: mysqlError.sqlState, statement: options.statement }, { cause: error });
}
