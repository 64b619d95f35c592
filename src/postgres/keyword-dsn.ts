import { ConfigurationError } from '../errors/configuration-error.js';
import { didYouMean } from '../util/nearest-name.js';

/**
 * Parses a libpq keyword/value connection string: `host=db port=5432 dbname='my db'`. Values
 * may be single-quoted, with `\'` and `\\` escapes inside quotes.
 */
export function parseKeywordDsn(dsn: string, conn: string, allowedKeys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let index = 0;
  const skipSpace = (): void => {
    while (index < dsn.length && /\s/.test(dsn[index])) index++;
  };
  for (skipSpace(); index < dsn.length; skipSpace()) {
    const keyStart = index;
    while (index < dsn.length && /[A-Za-z_]/.test(dsn[index])) index++;
    const key = dsn.slice(keyStart, index);
    skipSpace();
    if (key === '' || dsn[index] !== '=') {
      throw new ConfigurationError(
        `Connection '${conn}': dsn is malformed near position ${keyStart + 1}; write it as key=value pairs ` +
          `separated by spaces, e.g. "host=127.0.0.1 dbname=test", quoting values with spaces in single quotes.`,
        { conn },
      );
    }
    index++;
    skipSpace();
    let value = '';
    if (dsn[index] === "'") {
      index++;
      while (index < dsn.length && dsn[index] !== "'") {
        if (dsn[index] === '\\' && index + 1 < dsn.length) index++;
        value += dsn[index++];
      }
      if (dsn[index] !== "'") {
        throw new ConfigurationError(`Connection '${conn}': dsn has an unterminated quoted value for '${key}'.`, { conn });
      }
      index++;
    } else {
      while (index < dsn.length && !/\s/.test(dsn[index])) {
        if (dsn[index] === '\\' && index + 1 < dsn.length) index++;
        value += dsn[index++];
      }
    }
    const canonical = key === 'database' ? 'dbname' : key;
    if (!allowedKeys.includes(canonical)) {
      throw new ConfigurationError(
        `Connection '${conn}': dsn keyword '${key}' is not supported${didYouMean(key, allowedKeys)}; ` +
          `supported: ${allowedKeys.filter((k) => k !== 'password').join(', ')}.`,
        { conn },
      );
    }
    out[canonical] = value;
  }
  return out;
}
