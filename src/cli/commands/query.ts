import { lastValueFrom, takeUntil, toArray } from 'rxjs';
import { write, type CliContext } from '../cli-session.js';
import { rowWriter, type RowFormat } from '../row-format.js';

/**
 * `rxpg query CONN SQL [PARAMS…]`: runs one statement with its parameters bound (`$1`, `$2`, …
 * on Postgres, `?` on MySQL; always as text, cast in the SQL where the type matters) and prints
 * its rows. Ctrl-C cancels the statement on the server and prints nothing.
 */
export async function queryCommand(context: CliContext, sql: string, params: readonly string[], format: RowFormat): Promise<void> {
  const writer = rowWriter(format);
  const rows = await lastValueFrom(context.manager.query(sql, params, { conn: 'cli' }).pipe(takeUntil(context.interrupted), toArray()));
  if (context.wasInterrupted()) return;
  await write(context.out, writer.rows(rows));
  await write(context.out, writer.end());
}
