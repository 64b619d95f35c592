import type { Subscriber } from 'rxjs';
import type { StatementTarget } from './run-statement.js';

/**
 * What {@link DbManager.command} (and `conn.command`, `tx.command`) emits for a statement run for
 * its effect: the command tag's verb and how many rows it affected (or returned, for a SELECT),
 * as the server counted them.
 *
 * @example
 * ```ts
 * import { PgManager, type CommandResult } from 'rxpg';
 * import { firstValueFrom } from 'rxjs';
 *
 * const pgm = new PgManager();
 * pgm.createConn({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
 * const result: CommandResult = await firstValueFrom(pgm.command('SELECT generate_series(1, 3)'));
 * console.log(result); // { command: 'SELECT', rowCount: 3 }
 * await pgm.close();
 * ```
 * @see {@link DbManager.command}
 */
export interface CommandResult {
  /**
   * The command tag's verb: `UPDATE`, `DELETE`, `INSERT`, `CREATE`, `COPY`, … (Postgres' own
   * tag). MySQL sends no tag: it is the statement's first word, upper-cased. For a text of
   * several statements (Postgres' simple protocol), the last one's.
   */
  readonly command: string;
  /**
   * Rows affected (UPDATE, DELETE, INSERT, MERGE, COPY) or returned (SELECT), as the server
   * counted them; `null` when the command counts none (CREATE, SET, …). MySQL's UPDATE counts
   * the rows it matched.
   */
  readonly rowCount: number | null;
}

/** The one summary to the subscriber, then complete; rows are dropped as they are parsed. */
export function summaryTo(subscriber: Subscriber<CommandResult>): StatementTarget<Record<string, unknown>> {
  return {
    next: () => {},
    error: (error) => subscriber.error(error),
    complete: (summary) => {
      // A fresh object: the driver's summary also carries what ran ahead of the statement.
      subscriber.next({ command: summary.command, rowCount: summary.rowCount });
      subscriber.complete();
    },
  };
}
