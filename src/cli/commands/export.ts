import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { lastValueFrom, takeUntil } from 'rxjs';
import { QueryError } from '../../errors/query-error.js';
import { PgManager } from '../../postgres/pg-manager.js';
import { write, type CliContext } from '../cli-session.js';
import { ProgressLine } from '../progress-line.js';
import { rowWriter, type RowFormat } from '../row-format.js';

/**
 * `rxpg export CONN SQL --format ndjson|csv [-o FILE]`: streams the rows through a server-side
 * cursor, `batchSize` at a time, each batch written before the next is fetched (so memory stays
 * bounded whatever the size and however slow the disk), with a live progress line on stderr.
 * CSV of a query without parameters on Postgres goes through COPY instead (see
 * {@link exportByCopy}), unless `copy` is false.
 */
export async function exportCommand(
  context: CliContext,
  sql: string,
  params: readonly string[],
  options: { format: RowFormat; output: string | undefined; batchSize: number; copy: boolean },
): Promise<void> {
  const target: Writable = options.output === undefined ? context.out : createWriteStream(options.output);
  try {
    if (options.copy && options.format === 'csv' && params.length === 0 && context.manager instanceof PgManager) {
      if (await exportByCopy(context, context.manager, sql, target)) return;
    }
    await exportRows(context, sql, params, options, target);
  } finally {
    if (target !== context.out) {
      target.end();
      await once(target, 'close');
    }
  }
}

/**
 * CSV through `COPY (query) TO STDOUT (FORMAT csv, HEADER)`: the server writes the CSV (about
 * three times the rows per second of formatting rows in JavaScript), and the socket pauses
 * while the file or pipe catches up. Values are as the server prints them (`t`/`f`,
 * timestamps in the session's DateStyle). False, with nothing written, when the statement
 * cannot be a COPY's query (`SHOW`, a DDL): the rows path then runs it.
 */
async function exportByCopy(context: CliContext, pgm: PgManager, sql: string, target: Writable): Promise<boolean> {
  const copy = `COPY (${sql.trim().replace(/;\s*$/, '')}) TO STDOUT (FORMAT csv, HEADER)`;
  const progress = new ProgressLine(context.err);
  const started = Date.now();
  let rows: number | null = null;
  const counting = pgm.events$.subscribe((event) => {
    if (event.type === 'query' && event.conn === 'cli' && event.sql === copy) rows = event.rowCount;
  });
  let wrote = false;
  try {
    await lastValueFrom(
      pgm
        .copyTo(copy, [], {
          conn: 'cli',
          stage: async (chunk) => {
            wrote = true;
            await write(target, chunk.toString('utf8'));
            // Lines (the header too, and a quoted newline twice): the live count; the summary is the server's.
            progress.add(countLines(chunk));
          },
        })
        .pipe(takeUntil(context.interrupted)),
      { defaultValue: undefined },
    );
  } catch (error) {
    counting.unsubscribe();
    // Not a query COPY can wrap (syntax error, or a statement without rows): the rows path decides.
    if (!wrote && error instanceof QueryError && (error.sqlState === '42601' || error.sqlState === '0A000')) {
      progress.stop();
      return false;
    }
    progress.finish('Failed after');
    throw error;
  }
  counting.unsubscribe();
  progress.stop();
  if (context.wasInterrupted()) context.err.write('Interrupted\n');
  else {
    const seconds = (Date.now() - started) / 1000;
    context.err.write(`Exported ${rows ?? '?'} rows with COPY in ${seconds.toFixed(1)} s (${rows === null ? '?' : Math.round(rows / Math.max(0.001, seconds))} rows/s)\n`);
  }
  return true;
}

function countLines(chunk: Buffer): number {
  let lines = 0;
  for (let index = chunk.indexOf(10); index >= 0; index = chunk.indexOf(10, index + 1)) lines++;
  return lines;
}

/** Every other export: rows through a server-side cursor, formatted here. */
async function exportRows(
  context: CliContext,
  sql: string,
  params: readonly string[],
  options: { format: RowFormat; batchSize: number },
  target: Writable,
): Promise<void> {
  const writer = rowWriter(options.format);
  const progress = new ProgressLine(context.err);
  try {
    await lastValueFrom(
      context.manager
        .streamBatches(
          sql,
          params,
          async (rows) => {
            await write(target, writer.rows(rows));
            progress.add(rows.length);
          },
          { conn: 'cli', batchSize: options.batchSize },
        )
        .pipe(takeUntil(context.interrupted)),
      { defaultValue: undefined },
    );
    if (!context.wasInterrupted()) await write(target, writer.end());
  } catch (error) {
    progress.finish('Failed after');
    throw error;
  }
  progress.finish(context.wasInterrupted() ? 'Interrupted after' : 'Exported');
}
