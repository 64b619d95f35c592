import { RxpgError } from '../errors/rxpg-error.js';

/**
 * `db.response.status_code`: the server's code for the error, as the semantic conventions ask:
 * the SQLSTATE for PostgreSQL, the errno for MySQL and MariaDB (which mysql2 puts on the error
 * rxpg wraps). Undefined for errors the server did not send (a pool timeout, a lost socket).
 */
export function statusCodeOf(error: unknown, system: string): string | undefined {
  if (!(error instanceof RxpgError)) return undefined;
  if (system === 'mysql') {
    const errno = (error.cause as { errno?: unknown } | undefined)?.errno;
    return typeof errno === 'number' ? String(errno) : undefined;
  }
  const sqlState = (error as { sqlState?: unknown }).sqlState;
  return typeof sqlState === 'string' ? sqlState : undefined;
}

/**
 * `error.type`: low-cardinality, as the conventions ask: the status code when the server sent
 * one, else rxpg's error class (`PoolError`, `StatementTimeoutError`, `ConnectionError`), else
 * the error's name.
 */
export function errorTypeOf(error: unknown, statusCode: string | undefined): string {
  if (statusCode !== undefined) return statusCode;
  if (error instanceof Error) return error.name;
  return '_OTHER';
}
