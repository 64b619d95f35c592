import { ConfigurationError } from '../errors/configuration-error.js';
import type { ConnEntry } from './connstring/parse-url.js';

/**
 * Parses a libpq keyword/value connection string as libpq does: `host=db port=5432 dbname='my db'`.
 * A keyword runs to `=` or white space; a value runs to white space, or is single-quoted, and a
 * backslash escapes the next character in either form. Keywords are returned unchecked, in order
 * (a later one wins). Errors name the position, never a value.
 */
export function parseKeywordDsn(dsn: string, conn: string): ConnEntry[] {
  const out: [string, string][] = [];
  let index = 0;
  const isSpace = (char: string | undefined): boolean => char !== undefined && /\s/.test(char);
  const skipSpace = (): void => {
    while (isSpace(dsn[index])) index++;
  };
  for (skipSpace(); index < dsn.length; skipSpace()) {
    const keyStart = index;
    while (index < dsn.length && dsn[index] !== '=' && !isSpace(dsn[index])) index++;
    const key = dsn.slice(keyStart, index);
    skipSpace();
    if (key === '' || dsn[index] !== '=') {
      throw new ConfigurationError(
        `Connection '${conn}': dsn is malformed near position ${keyStart + 1} (missing "=" after ${/password/i.test(dsn) ? 'a word, not shown: the dsn has a password' : `'${key}'`}); ` +
          `write it as key=value pairs separated by spaces, e.g. "host=127.0.0.1 dbname=test", quoting values with spaces in single quotes.`,
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
      while (index < dsn.length && !isSpace(dsn[index])) {
        if (dsn[index] === '\\' && index + 1 < dsn.length) index++;
        value += dsn[index++];
      }
    }
    out.push([key, value]);
  }
  return out;
}
