import { ConfigurationError } from '../errors/configuration-error.js';

/** Rejects at once what can never run: a non-string statement or parameters that are not an array. */
export function checkStatement(sql: unknown, params: unknown): void {
  if (typeof sql !== 'string' || sql.trim() === '') {
    throw new ConfigurationError(`A statement must be a non-empty string of SQL, got ${sql === '' ? 'an empty string' : typeof sql}.`);
  }
  if (!Array.isArray(params)) {
    throw new ConfigurationError(
      `Parameters must be an array bound to $1, $2, … (got ${params === null ? 'null' : typeof params}); values are never interpolated into the SQL.`,
    );
  }
}
