import type { ErrorReason } from '../errors/error-reason.js';

// MySQL and MariaDB server error numbers (and the client's connection codes) onto the reasons
// every backend shares. Sources: MySQL's and MariaDB's error message references.
const BY_ERRNO: Readonly<Record<number, ErrorReason>> = {
  1062: 'unique_violation', // ER_DUP_ENTRY
  1586: 'unique_violation', // ER_DUP_ENTRY_WITH_KEY_NAME
  1451: 'foreign_key_violation', // ER_ROW_IS_REFERENCED_2
  1452: 'foreign_key_violation', // ER_NO_REFERENCED_ROW_2
  1216: 'foreign_key_violation',
  1217: 'foreign_key_violation',
  1048: 'not_null_violation', // ER_BAD_NULL_ERROR
  1364: 'not_null_violation', // ER_NO_DEFAULT_FOR_FIELD
  3819: 'check_violation', // MySQL ER_CHECK_CONSTRAINT_VIOLATED
  4025: 'check_violation', // MariaDB ER_CONSTRAINT_FAILED
  1213: 'deadlock', // ER_LOCK_DEADLOCK
  1205: 'lock_timeout', // ER_LOCK_WAIT_TIMEOUT
  3572: 'lock_timeout', // ER_LOCK_NOWAIT
  1064: 'syntax', // ER_PARSE_ERROR
  1149: 'syntax',
  1146: 'undefined_object', // ER_NO_SUCH_TABLE
  1054: 'undefined_object', // ER_BAD_FIELD_ERROR
  1049: 'undefined_object', // ER_BAD_DB_ERROR
  1305: 'undefined_object', // ER_SP_DOES_NOT_EXIST
  1109: 'undefined_object', // ER_UNKNOWN_TABLE
  1045: 'authentication', // ER_ACCESS_DENIED_ERROR
  1698: 'authentication', // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
  1044: 'permission', // ER_DBACCESS_DENIED_ERROR
  1142: 'permission', // ER_TABLEACCESS_DENIED_ERROR
  1143: 'permission',
  1227: 'permission', // ER_SPECIFIC_ACCESS_DENIED_ERROR
  3024: 'statement_timeout', // MySQL ER_QUERY_TIMEOUT (max_execution_time)
  1969: 'statement_timeout', // MariaDB ER_STATEMENT_TIMEOUT (max_statement_time)
  1317: 'canceled', // ER_QUERY_INTERRUPTED (KILL QUERY)
  1927: 'connection', // ER_CONNECTION_KILLED
  1053: 'connection', // ER_SERVER_SHUTDOWN
  1040: 'insufficient_resources', // ER_CON_COUNT_ERROR
  1203: 'insufficient_resources', // ER_TOO_MANY_USER_CONNECTIONS
  1264: 'data', // ER_WARN_DATA_OUT_OF_RANGE
  1265: 'data',
  1292: 'data', // ER_TRUNCATED_WRONG_VALUE
  1366: 'data', // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406: 'data', // ER_DATA_TOO_LONG
  1365: 'data', // ER_DIVISION_BY_ZERO
  1690: 'data', // ER_DATA_OUT_OF_RANGE
  1210: 'data', // ER_WRONG_ARGUMENTS (e.g. a wrong parameter count for a prepared statement)
  1179: 'invalid_transaction_state', // ER_CANT_DO_THIS_DURING_AN_TRANSACTION
  1568: 'invalid_transaction_state',
};

/** Client-side codes mysql2 uses for a lost or refused connection. */
const CONNECTION_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CONNECTION_KILLED']);

/**
 * The shared reason for a MySQL/MariaDB error (errno first, then SQLSTATE class, then client code).
 *
 * @example
 * ```ts
 * import { reasonForMysqlError } from 'rxpg/mysql';
 *
 * reasonForMysqlError(1062, '23000', 'ER_DUP_ENTRY'); // 'unique_violation'
 * reasonForMysqlError(1213, '40001', 'ER_LOCK_DEADLOCK'); // 'deadlock'
 * ```
 */
export function reasonForMysqlError(errno: number | undefined, sqlState: string | undefined, code: string | undefined): ErrorReason {
  if (errno !== undefined && BY_ERRNO[errno] !== undefined) return BY_ERRNO[errno];
  if (code !== undefined && CONNECTION_CODES.has(code)) return 'connection';
  switch (sqlState?.slice(0, 2)) {
    case '23':
      return 'constraint_violation';
    case '22':
      return 'data';
    case '42':
      return 'syntax';
    case '08':
      return 'connection';
    case '28':
      return 'authentication';
    case '40':
      return 'serialization';
    default:
      return 'unknown';
  }
}
