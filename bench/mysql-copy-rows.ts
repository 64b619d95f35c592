// The LOAD DATA encoding the MariaDB peers that take bytes get (mysql2's infile stream, and the
// file the command-line client loads): tab-separated, LOAD DATA's default backslash escapes, a
// Date in local time as MyManager's copyFrom() and mysql2's parameters send one.

const NEEDS_ESCAPE = /[\\\0\t\n\r]/;
const ESCAPES = /[\\\0\t\n\r]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\0': '\\0', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeText = (text: string): string => (NEEDS_ESCAPE.test(text) ? text.replace(ESCAPES, (char) => ESCAPED[char]) : text);
const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
const localDateTime = (date: Date): string =>
  `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;

/** LOAD DATA lines of the rows, joined into strings of about 64 kB. */
export function* encodeLoadDataLines(rows: Iterable<[number, string, number, Date]>): Generator<string> {
  let text = '';
  for (const [id, label, score, createdAt] of rows) {
    text += `${id}\t${escapeText(label)}\t${score}\t${localDateTime(createdAt)}\n`;
    if (text.length >= 65536) {
      yield text;
      text = '';
    }
  }
  if (text.length > 0) yield text;
}
