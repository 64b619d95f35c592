import pg from 'pg';
import { ConnectionError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { reasonForSqlState } from './sqlstate-reason.js';

/** True for an ErrorResponse the server sent (as opposed to a socket or client-side error). */
export function isServerError(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError;
}

/**
 * Converts whatever pg reported into an RxpgError: server errors become QueryError (or
 * ConnectionError for FATAL session-ending ones), anything else a ConnectionError.
 * `statement` is the statement text; parameter values are never attached.
 */
export function toRxpgError(error: unknown, options: { statement?: string; conn?: string } = {}): RxpgError {
  if (error instanceof RxpgError) return error;
  if (isServerError(error)) {
    const reason = reasonForSqlState(error.code);
    // Only a FATAL message ends the session; an ERROR of class 08 (a protocol violation such as
    // a wrong parameter count) leaves it usable and is the statement's error.
    if (error.severity === 'FATAL' || error.severity === 'PANIC') {
      return new ConnectionError(`${error.message} (SQLSTATE ${error.code})`, {
        reason: reason === 'authentication' || reason === 'insufficient_resources' || reason === 'undefined_object' ? reason : 'connection',
        sqlState: error.code,
        conn: options.conn,
        cause: error,
      });
    }
    return new QueryError(
      reason,
      error.message,
      {
        sqlState: error.code,
        severity: error.severity,
        detail: error.detail,
        hint: error.hint,
        position: error.position === undefined ? undefined : Number(error.position),
        where: error.where,
        schema: error.schema,
        table: error.table,
        column: error.column,
        constraint: error.constraint,
        statement: options.statement,
      },
      { conn: options.conn },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectionError(`connection lost: ${message}`, { conn: options.conn, cause: error });
}
