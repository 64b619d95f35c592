import type { MessageWriter } from './frontend-messages.js';

/** The statement that sets a per-statement timeout (see {@link sendStatementTimeout}). */
export const SET_TIMEOUT_TEXT = "SELECT set_config('statement_timeout', $1, true)";

/**
 * `set_config('statement_timeout', value, true)` by the extended protocol: local to the
 * (implicit or explicit) transaction the pipeline runs in, so it lapses at Sync or COMMIT.
 */
export function sendStatementTimeout(connection: MessageWriter, value: string): void {
  connection.parse({ text: SET_TIMEOUT_TEXT });
  connection.bind({ values: [value] });
  connection.execute({ rows: 0 });
}

/** A statement without parameters, unnamed, by the extended protocol (a prelude's BEGIN, a batch's COMMIT). */
export function sendPlainStatement(connection: MessageWriter, text: string): void {
  connection.parse({ text });
  connection.bind({ values: [] });
  connection.execute({ rows: 0 });
}

/**
 * A command tag's verb and count: a count is the tag's last word when that is a number
 * (`UPDATE 3` → UPDATE, 3; `INSERT 0 5` → INSERT, 5); tags such as `CREATE TABLE` count nothing.
 */
export function readCommandTag(tag: string): { readonly command: string; readonly rowCount: number | null } {
  const space = tag.indexOf(' ');
  const last = tag.slice(tag.lastIndexOf(' ') + 1);
  return { command: space < 0 ? tag : tag.slice(0, space), rowCount: space >= 0 && /^\d+$/.test(last) ? Number(last) : null };
}

/**
 * A DataRow's values as pg-protocol parsed them (text, or null), parsed in place: pg-protocol
 * builds a fresh array per DataRow and nobody else keeps it, so the row takes that array.
 */
export function parseInPlace(values: unknown[], parsers: readonly ((text: string) => unknown)[]): unknown[] {
  for (let index = 0; index < values.length; index++) {
    const text = values[index];
    if (text !== null) values[index] = parsers[index](text as string);
  }
  return values;
}
