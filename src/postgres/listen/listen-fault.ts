import { ConfigurationError } from '../../errors/configuration-error.js';
import { ConnectionError } from '../../errors/connection-error.js';
import { EngineUnsupportedError } from '../../errors/engine-unsupported-error.js';
import { QueryError } from '../../errors/query-error.js';
import { RxpgError } from '../../errors/rxpg-error.js';
import { isServerError } from '../pg-error.js';

/** What a failed attempt to open the listen session means for the next one. */
export interface ListenFault {
  /** Retrying the same config cannot succeed: the config, a credential or the server's setup must change first. */
  readonly fatal: boolean;
  readonly reason: 'connection' | 'authentication' | 'insufficient_resources';
  readonly sqlState: string | undefined;
  /** For a fatal fault, what to fix, as a sentence. */
  readonly fix: string;
}

/** SQLSTATE classes that no retry of the same startup packet can change (errcodes.txt). */
const FATAL_CLASSES: Readonly<Record<string, string>> = {
  // invalid_authorization_specification: no such role, pg_hba.conf rejects or has no entry.
  '28': 'Check the user name and pg_hba.conf (an entry must let this user in from this host to this database with this sslmode).',
  // invalid_catalog_name: no such database.
  '3D': 'Create the database or fix its name.',
  // syntax_error_or_access_rule_violation at startup: no CONNECT privilege (42501), unknown setting (42704).
  '42': 'Fix the connection options or the role’s privileges the server rejected.',
  // data_exception at startup: a setting's value the server refuses (22023).
  '22': 'Fix the connection options the server rejected.',
  // feature_not_supported: e.g. a protocol version the server does not speak.
  '0A': 'Fix the connection options the server rejected.',
};

/** node's TLS verification failures: the server's certificate will not verify on the next attempt either. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
]);

/**
 * Sorts a failed attempt to open the listen session (`connect`: TCP, TLS, startup and
 * authentication; `setup`: initStatement and the LISTENs) into faults a retry cannot fix and
 * transient ones. Decided by SQLSTATE where the server sent one, by class as libpq reads them:
 * class 28 (authentication), 3D (no such database) and, at startup, 42, 22 and 0A are the
 * config's; 08 (connection), 53 (resources, as 53300 too many connections), 57P0x (shutdown,
 * starting up) and anything unknown are transient. Without a SQLSTATE: pg's client-side SASL
 * and password errors and TLS the server lacks or whose certificate does not verify are fatal;
 * sockets (refused, reset, timed out, DNS) are transient.
 */
export function classifyListenFault(error: unknown, stage: 'connect' | 'setup'): ListenFault {
  const sqlState = sqlStateOf(error);
  const reason = error instanceof RxpgError && (error.reason === 'authentication' || error.reason === 'insufficient_resources') ? error.reason : 'connection';
  const transient: ListenFault = { fatal: false, reason, sqlState, fix: '' };
  if (error instanceof ConfigurationError) return { fatal: true, reason: 'connection', sqlState, fix: 'Fix the listen config.' };
  // The engine lacks LISTEN (engine-refusals.ts): its message says what to do instead.
  if (error instanceof EngineUnsupportedError) return { fatal: true, reason: 'connection', sqlState, fix: '' };
  if (stage === 'setup') {
    // The session opened and a statement of ours failed: the same statement fails again, unless
    // it was a conflict or a cancel (statement_timeout, an administrator) that may not recur.
    if (error instanceof QueryError && !error.isRetryable && error.reason !== 'canceled' && error.reason !== 'statement_timeout' && error.reason !== 'unknown') {
      return { fatal: true, reason: 'connection', sqlState, fix: 'Fix initStatement (a standby also refuses LISTEN: point the listen config at the primary).' };
    }
    return transient;
  }
  if (error instanceof ConnectionError && !error.isRetryable && sqlState === undefined && (error.reason === 'authentication' || error.reason === 'connection')) {
    // The driver already told the fault and its fix: no password for a server that asks for one,
    // or TLS that cannot work (a certificate that does not verify, a key it cannot read).
    return { fatal: true, reason: error.reason, sqlState, fix: '' };
  }
  if (sqlState !== undefined) {
    if (sqlState === '28P01') return { fatal: true, reason: 'authentication', sqlState, fix: 'Fix the password (or the role’s password on the server).' };
    const fix = FATAL_CLASSES[sqlState.slice(0, 2)];
    return fix === undefined ? transient : { fatal: true, reason: sqlState.startsWith('28') ? 'authentication' : 'connection', sqlState, fix };
  }
  for (const cause of causesOf(error)) {
    const message = cause instanceof Error ? cause.message : '';
    if (/client password must be a (non-empty )?string|^Password must be a string/i.test(message)) {
      return { fatal: true, reason: 'authentication', sqlState, fix: 'The server asks for a password and none was given: set password in the listen config (or in the config it copies).' };
    }
    if (message.startsWith('SASL:')) return { fatal: true, reason: 'authentication', sqlState, fix: 'Check the password and the server’s password_encryption and pg_hba.conf methods.' };
    if (message.includes('does not support SSL connections')) {
      return { fatal: true, reason: 'connection', sqlState, fix: "The server has TLS off: turn it on there, or set sslmode to 'prefer' or 'disable'." };
    }
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) {
      return { fatal: true, reason: 'connection', sqlState, fix: 'The server’s certificate does not verify: give its CA (ssl.ca), fix the host name, or renew the certificate.' };
    }
  }
  return transient;
}

/** The SQLSTATE the server sent, wherever in the chain of causes it is. */
export function sqlStateOf(error: unknown): string | undefined {
  for (const cause of causesOf(error)) {
    if ((cause instanceof ConnectionError || cause instanceof QueryError) && cause.sqlState !== undefined) return cause.sqlState;
    if (isServerError(cause)) return cause.code;
  }
  return undefined;
}

function causesOf(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let cause = error; cause !== undefined && cause !== null && chain.length < 5; cause = (cause as { cause?: unknown }).cause) chain.push(cause);
  return chain;
}
