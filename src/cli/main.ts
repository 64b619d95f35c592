#!/usr/bin/env node
// The `rxpg` command (PgManager's pgtool): statements, exports, LISTEN/NOTIFY and the seed's
// monitoring tools against named connections (rxpg.json), URLs, or libpq's environment.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigurationError } from '../errors/configuration-error.js';
import { describeError, runCommand, type CliContext } from './cli-session.js';
import { findConfigFile, resolveCliConnection } from './connections.js';
import { ROW_FORMATS, type RowFormat } from './row-format.js';
import { activityCommand } from './commands/activity.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { listenCommand } from './commands/listen.js';
import { notifyCommand } from './commands/notify.js';
import { queryCommand } from './commands/query.js';
import { tablesCommand } from './commands/tables.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const CONN_HELP = "a connection: a name from rxpg.json, a postgres:// or mysql:// URL, a keyword string ('host=… dbname=…'), or env (PG* variables, PGSERVICE)";

interface GlobalOptions {
  readonly config?: string;
  readonly url?: string;
}

const program = new Command()
  .name('rxpg')
  .description('Run statements, exports and LISTEN/NOTIFY with rxpg against named connections, URLs or PG* variables.')
  .version(version)
  .option('--config <file>', 'the connections file (default: ./rxpg.json, then ~/.config/rxpg/rxpg.json)')
  .option('--url <url>', 'connect to this URL or keyword string; CONN is then left out')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Connections file (rxpg.json): { "connections": { "app": "postgres://app@db:5432/shop", "reports": { "connectionString": "…", "statementTimeout": 30000 } } }
Exit status: 0 done, 1 an error (one line on stderr with its code and reason), 130 interrupted (Ctrl-C cancels the running statement on the server).`,
  );

const formatOption = (defaultFormat: RowFormat | undefined, formats: readonly RowFormat[] = ROW_FORMATS): Option =>
  new Option('-f, --format <format>', `output format${defaultFormat === undefined ? ' (default: table on a terminal, else ndjson)' : ''}`)
    .choices([...formats])
    .default(defaultFormat);

/** Runs a command's work on the connection CONN (or --url) names; sets the exit code. */
async function run(conn: string, work: (context: CliContext) => Promise<void>): Promise<void> {
  const globals = program.opts<GlobalOptions>();
  let code: number;
  try {
    const connection = resolveCliConnection(globals.url ?? conn, findConfigFile(globals.config));
    code = await runCommand(connection, work);
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    code = 1;
  }
  process.exitCode = code;
}

/** With --url, CONN is left out: the words shift one to the left. */
function operands(words: readonly (string | undefined)[]): { conn: string; rest: string[] } {
  const given = words.filter((word): word is string => word !== undefined);
  if (program.opts<GlobalOptions>().url !== undefined) return { conn: '', rest: given };
  const [conn = '', ...rest] = given;
  return { conn, rest };
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new ConfigurationError(`missing ${what}`);
  return value;
}

const tableOr = (format: RowFormat | undefined): RowFormat => format ?? (process.stdout.isTTY ? 'table' : 'ndjson');

program
  .command('query')
  .description('run one statement and print its rows')
  .argument('<conn>', CONN_HELP)
  .argument('[sql]', 'the statement, with $1, $2 … (Postgres) or ? (MySQL) for the parameters')
  .argument('[params...]', 'parameter values, bound as text (cast in the SQL where the type matters)')
  .addOption(formatOption(undefined))
  .action(async (first: string, second: string | undefined, more: string[], options: { format?: RowFormat }) => {
    const { conn, rest } = operands([first, second, ...more]);
    await run(conn, (context) => queryCommand(context, required(rest[0], 'SQL'), rest.slice(1), tableOr(options.format)));
  });

program
  .command('export')
  .description('stream a query to a file or stdout, with a live progress line on stderr; memory stays bounded')
  .argument('<conn>', CONN_HELP)
  .argument('[sql]', 'the query')
  .argument('[params...]', 'parameter values, bound as text')
  .addOption(formatOption('ndjson', ['ndjson', 'csv', 'tsv', 'json']))
  .option('-o, --output <file>', 'write to this file instead of stdout')
  .option('--batch-size <rows>', 'rows fetched per round trip', positiveInteger, 2000)
  .option('--no-copy', "CSV without parameters on PostgreSQL goes through COPY (the server's own CSV, faster); this formats rows here instead")
  .action(async (first: string, second: string | undefined, more: string[], options: { format: RowFormat; output?: string; batchSize: number; copy: boolean }) => {
    const { conn, rest } = operands([first, second, ...more]);
    await run(conn, (context) =>
      exportCommand(context, required(rest[0], 'SQL'), rest.slice(1), { format: options.format, output: options.output, batchSize: options.batchSize, copy: options.copy }),
    );
  });

program
  .command('import')
  .description('load a CSV file (or - for stdin) into a table with COPY, with a live progress line; Ctrl-C rolls it back')
  .argument('<conn>', CONN_HELP)
  .argument('[table]', "the table: users, app.users, or 'users (id, email)' for some columns")
  .argument('[file]', 'the file, or - for stdin')
  .addOption(new Option('-f, --format <format>', 'COPY format').choices(['csv', 'text']).default('csv'))
  .option('--no-header', 'the CSV file has no header line')
  .option('--delimiter <char>', 'the field delimiter (default: , for csv, tab for text)')
  .action(async (first: string, second: string | undefined, third: string | undefined, options: { format: 'csv' | 'text'; header: boolean; delimiter?: string }) => {
    const { conn, rest } = operands([first, second, third]);
    await run(conn, (context) =>
      importCommand(context, required(rest[0], 'TABLE'), required(rest[1], 'FILE (or - for stdin)'), {
        format: options.format,
        header: options.header,
        delimiter: options.delimiter ?? (options.format === 'csv' ? ',' : '\t'),
      }),
    );
  });

program
  .command('listen')
  .description('print notifications as NDJSON until Ctrl-C; reconnects by itself and prints each gap')
  .argument('<conn>', CONN_HELP)
  .argument('[channels...]', 'the channels, as given (case kept)')
  .action(async (first: string, more: string[]) => {
    const { conn, rest } = operands([first, ...more]);
    await run(conn, (context) => {
      if (rest.length === 0) throw new ConfigurationError('missing CHANNEL: name at least one channel to listen on');
      return listenCommand(context, rest);
    });
  });

program
  .command('notify')
  .description('send one notification')
  .argument('<conn>', CONN_HELP)
  .argument('[channel]', 'the channel')
  .argument('[payload]', 'the payload (default empty)')
  .action(async (first: string, second: string | undefined, third: string | undefined) => {
    const { conn, rest } = operands([first, second, third]);
    await run(conn, (context) => notifyCommand(context, required(rest[0], 'CHANNEL'), rest[1] ?? ''));
  });

program
  .command('activity')
  .description("what the server runs now, longest first (PgManager's longqueries)")
  .argument('[conn]', CONN_HELP)
  .option('--longer-than <duration>', 'only statements running at least this long: 5s, 250ms, 2m')
  .addOption(formatOption(undefined))
  .action(async (conn: string | undefined, options: { longerThan?: string; format?: RowFormat }) => {
    await run(conn ?? '', (context) => activityCommand(context, options.longerThan, tableOr(options.format)));
  });

program
  .command('tables')
  .description("the biggest tables with their indexes and TOAST (PgManager's bigtables)")
  .argument('[conn]', CONN_HELP)
  .option('--biggest <n>', 'how many tables', '10')
  .addOption(formatOption(undefined))
  .action(async (conn: string | undefined, options: { biggest: string; format?: RowFormat }) => {
    await run(conn ?? '', (context) => tablesCommand(context, options.biggest, tableOr(options.format)));
  });

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a whole number ≥ 1');
  return number;
}

await program.parseAsync(process.argv);
