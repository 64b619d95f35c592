import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { lastValueFrom, takeUntil } from 'rxjs';
import { write, type CliContext } from '../cli-session.js';
import { ProgressLine } from '../progress-line.js';
import { rowWriter, type RowFormat } from '../row-format.js';

/**
 * `rxpg export CONN SQL --format ndjson|csv [-o FILE]`: streams the rows through a server-side
 * cursor, `batchSize` at a time, each batch written before the next is fetched (so memory stays
 * bounded whatever the size and however slow the disk), with a live progress line on stderr.
 */
export async function exportCommand(
  context: CliContext,
  sql: string,
  params: readonly string[],
  options: { format: RowFormat; output: string | undefined; batchSize: number },
): Promise<void> {
  const writer = rowWriter(options.format);
  const target: Writable = options.output === undefined ? context.out : createWriteStream(options.output);
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
  } finally {
    progress.finish(context.wasInterrupted() ? 'Interrupted after' : 'Exported');
    if (target !== context.out) {
      target.end();
      await once(target, 'close');
    }
  }
}
