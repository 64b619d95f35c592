import { ConfigurationError } from '../errors/configuration-error.js';

/**
 * Rejects at once what can never run: a non-string statement, parameters that are not an array,
 * or a parameter no backend can bind meaningfully. One rule for every backend, before anything
 * is sent: `undefined` (usually a missing property; pg would bind NULL and mysql2 would throw
 * outside the observable), a symbol or a function (pg would send their source text), and an
 * invalid Date (pg would send `0NaN-NaN-NaN`), also inside an array parameter.
 */
export function checkStatement(sql: unknown, params: unknown): void {
  if (typeof sql !== 'string' || sql.trim() === '') {
    throw new ConfigurationError(`A statement must be a non-empty string of SQL, got ${sql === '' ? 'an empty string' : typeof sql}.`);
  }
  if (!Array.isArray(params)) {
    throw new ConfigurationError(
      `Parameters must be an array bound to $1, $2, … (got ${params === null ? 'null' : typeof params}); values are never interpolated into the SQL.`,
    );
  }
  for (let index = 0; index < params.length; index++) {
    const problem = unbindable(params[index]);
    if (problem !== undefined) {
      throw new ConfigurationError(`Parameter ${index + 1} of ${params.length} ${problem} In: ${sql.length > 120 ? `${sql.slice(0, 120)}…` : sql}`);
    }
  }
}

/** Why `value` cannot be bound, or undefined when it can. */
function unbindable(value: unknown): string | undefined {
  switch (typeof value) {
    case 'undefined':
      return 'is undefined: pass null for SQL NULL (undefined is usually a missing property).';
    case 'symbol':
      return 'is a symbol, which has no SQL value.';
    case 'function':
      return 'is a function, which has no SQL value: call it, or pass what it returns.';
    case 'object':
      if (value instanceof Date && Number.isNaN(value.getTime())) return 'is an invalid Date (its time is NaN).';
      if (Array.isArray(value)) {
        for (const element of value) {
          // In an array, undefined is an element the array literal cannot hold either.
          const problem = unbindable(element);
          if (problem !== undefined) return `is an array whose element ${problem}`;
        }
      }
      return undefined;
    default:
      return undefined;
  }
}
