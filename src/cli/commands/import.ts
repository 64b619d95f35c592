import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { lastValueFrom, takeUntil } from 'rxjs';
import { ConfigurationError } from '../../errors/configuration-error.js';
import { postgresOnly, type CliContext } from '../cli-session.js';
import { ProgressLine } from '../progress-line.js';

/** `users`, `app.users`, `"Odd Name"`, each optionally with a column list: `users (id, email)`. */
const TABLE = /^\s*(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)(?:\.(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))?(?:\s*\(\s*(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)(?:\s*,\s*(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))*\s*\))?\s*$/;

/**
 * `rxpg import CONN TABLE FILE|-`: loads a CSV file (or stdin) into a table with `COPY … FROM
 * STDIN`, read only as fast as the server takes it, with a live progress line (bytes sent) and
 * the server's row count at the end. The file's first line is its header unless `--no-header`.
 * Ctrl-C sends CopyFail: the server rolls the COPY back and no row stays.
 */
export async function importCommand(context: CliContext, table: string, file: string, options: { header: boolean; delimiter: string; format: 'csv' | 'text' }): Promise<void> {
  const pgm = postgresOnly(context, 'import');
  if (!TABLE.test(table)) throw new ConfigurationError(`TABLE must be a table name, optionally schema-qualified and with a column list (users, app.users, "users (id, email)"), got ${JSON.stringify(table)}.`);
  if (options.delimiter.length !== 1 || options.delimiter === "'" || options.delimiter === '\\') {
    throw new ConfigurationError(`--delimiter must be one character other than a quote or a backslash, got ${JSON.stringify(options.delimiter)}.`);
  }
  const settings = [`FORMAT ${options.format}`, `DELIMITER '${options.delimiter}'`];
  if (options.format === 'csv') settings.push(`HEADER ${options.header}`);
  const input: Readable = file === '-' ? process.stdin : createReadStream(file);
  const progress = new ProgressLine(context.err, 'bytes');
  // Counted as copyFrom() pulls them: an async iterable is read only as the socket drains.
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      progress.add((chunk as Buffer).length);
      yield chunk as Buffer;
    }
  }
  let rows: number | undefined;
  try {
    rows = await lastValueFrom(pgm.copyFrom(`COPY ${table} FROM STDIN (${settings.join(', ')})`, counted(), { conn: 'cli' }).pipe(takeUntil(context.interrupted)), {
      defaultValue: undefined,
    });
  } finally {
    progress.stop();
    if (file !== '-') input.destroy();
  }
  if (rows !== undefined) context.err.write(`Imported ${rows} rows into ${table.trim()}\n`);
}
