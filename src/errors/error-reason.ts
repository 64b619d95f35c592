/**
 * Why an operation failed, shared by every backend: each driver maps its own codes (SQLSTATE for
 * Postgres, errno for MySQL) onto these, so callers branch on `reason` and never on message text.
 *
 * @see {@link RxpgError}
 */
export type ErrorReason =
  | 'configuration'
  | 'connection'
  | 'authentication'
  | 'syntax'
  | 'undefined_object'
  | 'permission'
  | 'unique_violation'
  | 'foreign_key_violation'
  | 'not_null_violation'
  | 'check_violation'
  | 'exclusion_violation'
  | 'constraint_violation'
  | 'data'
  | 'serialization'
  | 'deadlock'
  | 'lock_timeout'
  | 'statement_timeout'
  | 'canceled'
  | 'invalid_transaction_state'
  | 'insufficient_resources'
  | 'outcome_unknown'
  | 'pool_timeout'
  | 'pool_full'
  | 'pool_deadlock'
  | 'scope_bypass'
  | 'closed'
  | 'overflow'
  /** Something the server accepted but rxpg cannot carry (yet): COPY through query(), SQLSTATE class 0A. */
  | 'unsupported'
  | 'unknown';

/**
 * Reasons after which running the whole unit of work again (a transaction, or a statement that
 * never reached the server) can succeed. `outcome_unknown` is deliberately absent: a COMMIT whose
 * answer was lost may have committed.
 */
const RETRYABLE: ReadonlySet<ErrorReason> = new Set<ErrorReason>([
  'serialization',
  'deadlock',
  'lock_timeout',
  'insufficient_resources',
  'pool_timeout',
]);

/**
 * Whether an error of this reason is worth retrying as a whole unit of work.
 *
 * @example
 * ```ts
 * import { isRetryableReason } from 'rxpg';
 *
 * isRetryableReason('serialization'); // true
 * isRetryableReason('unique_violation'); // false
 * ```
 * @see {@link retryTransaction}
 */
export function isRetryableReason(reason: ErrorReason): boolean {
  return RETRYABLE.has(reason);
}
