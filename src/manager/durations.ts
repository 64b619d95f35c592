import { ConfigurationError } from '../errors/configuration-error.js';

/**
 * The longest duration rxpg accepts, in milliseconds (2^31−1, about 24.8 days): Node's timers
 * fire after 1 ms for anything longer, and Postgres' `statement_timeout` stops there too.
 */
export const MAX_MILLIS = 2_147_483_647;

/** The longest `connectTimeout` rxpg accepts, in seconds: one hour. More is milliseconds by mistake. */
export const MAX_CONNECT_TIMEOUT_SECONDS = 3600;

/** A value as the caller wrote it: NaN says NaN, a string keeps its quotes. */
export function shownValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * Checks a duration in milliseconds: a whole number from `min` (0 or 1) to {@link MAX_MILLIS}.
 * `where` prefixes the message (`Connection 'default': `, `query: `); `zero` says what 0 means
 * when it is allowed.
 */
export function checkMillis(value: unknown, name: string, where: string, options: { min: 0 | 1; zero?: string; conn?: string }): number {
  const { min, zero, conn } = options;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_MILLIS) {
    throw new ConfigurationError(
      `${where}${name} must be a whole number of milliseconds from ${min} to ${MAX_MILLIS} (about 24.8 days)${zero ? `; 0 ${zero}` : ''}, got ${shownValue(value)}.`,
      { conn },
    );
  }
  return value;
}

/**
 * Checks a connect timeout in seconds (libpq's `connect_timeout` unit): positive, at most an
 * hour, whole milliseconds. A large value is almost always milliseconds: the message says so.
 */
export function checkConnectTimeoutSeconds(value: unknown, name: string, where: string, conn?: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > MAX_CONNECT_TIMEOUT_SECONDS) {
    const seconds = value / 1000;
    throw new ConfigurationError(
      `${where}${name} is in seconds, as libpq's connect_timeout; did you mean ${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}? ` +
        `It may be at most ${MAX_CONNECT_TIMEOUT_SECONDS}, got ${shownValue(value)}.`,
      { conn },
    );
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(
      `${where}${name} must be a positive number of seconds (as libpq's connect_timeout), at most ${MAX_CONNECT_TIMEOUT_SECONDS}, got ${shownValue(value)}.`,
      { conn },
    );
  }
  return value;
}
