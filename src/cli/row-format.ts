import type { OrderedRow } from '../rows/ordered-row.js';

/** How the command line writes rows. */
export type RowFormat = 'table' | 'ndjson' | 'csv' | 'tsv' | 'json';

export const ROW_FORMATS: readonly RowFormat[] = ['table', 'ndjson', 'csv', 'tsv', 'json'];

/**
 * Writes rows in one format as they come; `end()` writes what only the end can (a table's
 * widths, a JSON array's bracket). Only `table` holds the rows until the end: the others are
 * streamed, so an export of any size stays in bounded memory.
 */
export interface RowWriter {
  /** The text for these rows (may be empty until `end()`). */
  rows(rows: readonly OrderedRow[]): string;
  end(): string;
}

export function rowWriter(format: RowFormat): RowWriter {
  switch (format) {
    case 'ndjson':
      return { rows: (rows) => rows.map((row) => `${JSON.stringify(jsonObject(row))}\n`).join(''), end: () => '' };
    case 'json': {
      let first = true;
      return {
        rows: (rows) =>
          rows
            .map((row) => {
              const text = `${first ? '[\n' : ',\n'}${JSON.stringify(jsonObject(row))}`;
              first = false;
              return text;
            })
            .join(''),
        end: () => (first ? '[]\n' : '\n]\n'),
      };
    }
    case 'csv':
    case 'tsv':
      return delimited(format);
    case 'table':
      return table();
  }
}

/** A row as a JSON object: columns in order, bytea as `\x…` hex as psql shows it, bigint as text. */
function jsonObject(row: OrderedRow): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [name, value] of row.entries()) object[name] = jsonValue(value);
  return object;
}

function jsonValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonValue);
  return value;
}

/** A value as text for CSV, TSV and tables: NULL is left to the caller. */
function text(value: unknown): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'object') return JSON.stringify(jsonValue(value));
  return String(value);
}

/**
 * CSV as RFC 4180 writes it (and COPY … CSV reads it): a header, fields quoted when they hold the
 * delimiter, a quote, CR or LF, or are empty strings (so that they differ from NULL, written as
 * nothing). TSV as COPY's text format: `\N` for NULL, backslash escapes for tab, newline, CR
 * and backslash.
 */
function delimited(format: 'csv' | 'tsv'): RowWriter {
  let header = true;
  const field =
    format === 'csv'
      ? (value: unknown): string => {
          if (value === null || value === undefined) return '';
          const shown = text(value);
          return shown === '' || /[",\r\n]/.test(shown) ? `"${shown.replace(/"/g, '""')}"` : shown;
        }
      : (value: unknown): string => {
          if (value === null || value === undefined) return '\\N';
          return text(value).replace(/[\\\t\n\r]/g, (char) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[char] ?? char);
        };
  const separator = format === 'csv' ? ',' : '\t';
  return {
    rows: (rows) => {
      let out = '';
      if (header && rows.length > 0) {
        out += `${rows[0].keys().map(field).join(separator)}\n`;
        header = false;
      }
      for (const row of rows) out += `${row.toArray().map(field).join(separator)}\n`;
      return out;
    },
    end: () => '',
  };
}

/** An aligned table as psql prints one: headers, a rule, the rows, and the count. */
function table(): RowWriter {
  const held: string[][] = [];
  let names: string[] | undefined;
  return {
    rows: (rows) => {
      for (const row of rows) {
        names ??= row.keys();
        held.push(row.toArray().map((value) => (value === null || value === undefined ? '' : text(value).replace(/\r?\n/g, '↵'))));
      }
      return '';
    },
    end: () => {
      if (names === undefined) return '(0 rows)\n';
      const widths = names.map((name, index) => Math.max(width(name), ...held.map((cells) => width(cells[index]))));
      const line = (cells: readonly string[]): string => cells.map((cell, index) => ` ${cell}${' '.repeat(widths[index] - width(cell))} `).join('|').trimEnd();
      const rule = widths.map((size) => '-'.repeat(size + 2)).join('+');
      return `${[line(names), rule, ...held.map(line)].join('\n')}\n(${held.length} ${held.length === 1 ? 'row' : 'rows'})\n`;
    },
  };
}

/** Characters as a terminal shows them (code points, not UTF-16 units). */
function width(text: string): number {
  return [...text].length;
}
