import type { ErrorReason } from '../errors/error-reason.js';

// Exact codes first, then the two-character class. Source: PostgreSQL's errcodes.txt.
const BY_CODE: Readonly<Record<string, ErrorReason>> = {
  '23505': 'unique_violation',
  '23503': 'foreign_key_violation',
  '23502': 'not_null_violation',
  '23514': 'check_violation',
  '23P01': 'exclusion_violation',
  '40001': 'serialization',
  '40P01': 'deadlock',
  '40002': 'constraint_violation',
  '40003': 'outcome_unknown',
  '55P03': 'lock_timeout',
  '57014': 'canceled',
  // A protocol violation reported as ERROR: a wrong parameter count or a value the server cannot bind.
  '08P01': 'data',
  '57P01': 'connection',
  '57P02': 'connection',
  '57P03': 'connection',
  '57P05': 'connection',
  '42601': 'syntax',
  '42501': 'permission',
  '42P01': 'undefined_object',
  '42703': 'undefined_object',
  '42883': 'undefined_object',
  '42704': 'undefined_object',
  '42P02': 'undefined_object',
  '3D000': 'undefined_object',
  '3F000': 'undefined_object',
  '34000': 'undefined_object',
  '26000': 'undefined_object',
};

const BY_CLASS: Readonly<Record<string, ErrorReason>> = {
  '0A': 'unsupported',
  '08': 'connection',
  '28': 'authentication',
  '23': 'constraint_violation',
  '40': 'serialization',
  '42': 'syntax',
  '53': 'insufficient_resources',
  '22': 'data',
  '25': 'invalid_transaction_state',
  '2D': 'invalid_transaction_state',
  '55': 'invalid_transaction_state',
  '57': 'canceled',
};

/**
 * The shared reason for a Postgres SQLSTATE, from the code alone: the server's message text is
 * translated by its `lc_messages` and never decides anything. 57014 (query_canceled) is
 * `canceled` whether a cancel request or `statement_timeout` stopped the statement; the manager,
 * which knows whether it set a time limit and whether it sent a cancel, turns the first kind
 * into a {@link StatementTimeoutError}.
 *
 * @example
 * ```ts
 * import { reasonForSqlState } from 'rxpg';
 *
 * reasonForSqlState('40001'); // 'serialization'
 * reasonForSqlState('23505'); // 'unique_violation'
 * ```
 */
export function reasonForSqlState(sqlState: string | undefined): ErrorReason {
  if (sqlState === undefined || sqlState.length !== 5) return 'unknown';
  return BY_CODE[sqlState] ?? BY_CLASS[sqlState.slice(0, 2)] ?? 'unknown';
}

/**
 * Whether a session that the server refused with this SQLSTATE may open on a later attempt:
 * a connection exception (class 08, but not 08P01, a protocol violation), insufficient
 * resources (53: too many connections) or operator intervention (57: the server starting up
 * or shutting down). A missing database (3D000), a failed authentication (28), a bad startup
 * setting (22023, 42704) stay as they are however often one tries.
 */
export function isTransientConnectFailure(sqlState: string | undefined): boolean {
  if (sqlState === undefined || sqlState === '08P01') return false;
  const sqlClass = sqlState.slice(0, 2);
  return sqlClass === '08' || sqlClass === '53' || sqlClass === '57';
}
