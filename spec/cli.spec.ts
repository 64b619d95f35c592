// The `rxpg` command as a user runs it: a subprocess against the real server (through tsx on
// the sources, so that `npm test` needs no build; the built bin is checked when it exists).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DATABASE_URL, uniqueName, useAdminClient, waitFor } from './support/database.js';

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const folder = mkdtempSync(join(tmpdir(), 'rxpg-cli-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** Starts `rxpg …` in `cwd`; `done` resolves when it exits (bounded: a hang fails the test). */
function start(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; entry?: string; input?: string } = {}) {
  const entry = options.entry ?? join(process.cwd(), 'src/cli/main.ts');
  // tsx by its absolute URL: the command runs in folders without node_modules.
  const child = spawn(process.execPath, entry.endsWith('.ts') ? ['--import', import.meta.resolve('tsx'), entry, ...args] : [entry, ...args], {
    cwd: options.cwd ?? folder,
    // HOME in the test's folder: no rxpg.json of the machine's user is read.
    env: { ...process.env, HOME: folder, XDG_CONFIG_HOME: join(folder, 'config'), ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Ran>((resolve, reject) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rxpg ${args.join(' ')} did not exit within 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

const rxpg = (args: readonly string[], options?: Parameters<typeof start>[1]): Promise<Ran> => start(args, options).done;

describe('the rxpg command', () => {
  const admin = useAdminClient();

  it('query: binds parameters, prints NDJSON when piped and the other formats on request', async () => {
    const sql = "SELECT $1::int AS n, 'a,b\"c' AS text, NULL AS nothing, '\\x00ff'::bytea AS bytes";
    const ndjson = await rxpg(['query', DATABASE_URL, sql, '42']);
    assert.equal(ndjson.stderr, '');
    assert.equal(ndjson.code, 0);
    assert.deepEqual(JSON.parse(ndjson.stdout), { n: 42, text: 'a,b"c', nothing: null, bytes: '\\x00ff' });
    const csv = await rxpg(['query', DATABASE_URL, sql, '7', '--format', 'csv']);
    assert.equal(csv.stdout, 'n,text,nothing,bytes\n7,"a,b""c",,\\x00ff\n');
    const tsv = await rxpg(['query', DATABASE_URL, "SELECT 'tab\there' AS t, NULL AS n", '-f', 'tsv']);
    assert.equal(tsv.stdout, 't\tn\ntab\\there\t\\N\n');
    const table = await rxpg(['query', DATABASE_URL, "SELECT n, 'x' || n AS label FROM generate_series(9, 10) AS n", '-f', 'table']);
    assert.equal(table.stdout, ' n  | label\n----+-------\n 9  | x9\n 10 | x10\n(2 rows)\n');
    const json = await rxpg(['query', DATABASE_URL, 'SELECT n FROM generate_series(1, 2) AS n', '-f', 'json']);
    assert.deepEqual(JSON.parse(json.stdout), [{ n: 1 }, { n: 2 }]);
  });

  it('finds connections by name in rxpg.json (here, then ~/.config/rxpg), by --url, and says what it has when a name is wrong', async () => {
    const cwd = mkdtempSync(join(folder, 'project-'));
    writeFileSync(join(cwd, 'rxpg.json'), JSON.stringify({ connections: { app: DATABASE_URL, reports: { connectionString: DATABASE_URL, applicationName: 'rxpg_cli_reports' } } }));
    const named = await rxpg(['query', 'reports', "SELECT current_setting('application_name') AS app"], { cwd });
    assert.deepEqual(JSON.parse(named.stdout), { app: 'rxpg_cli_reports' });
    const wrong = await rxpg(['query', 'report', 'SELECT 1'], { cwd });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^rxpg: RXPG_CONFIGURATION configuration: No connection named 'report' in .*rxpg\.json \(did you mean 'reports'\?\); it has 'app', 'reports'\.\n$/);
    // The user's config folder, when the working directory has none.
    const home = join(folder, 'config', 'rxpg');
    writeFileSync(join(mkdirp(home), 'rxpg.json'), JSON.stringify({ connections: { mine: DATABASE_URL } }));
    const fromHome = await rxpg(['query', 'mine', 'SELECT 2 AS two']);
    assert.deepEqual(JSON.parse(fromHome.stdout), { two: 2 });
    const byUrl = await rxpg(['--url', DATABASE_URL, 'query', 'SELECT $1::text AS echo', 'hi']);
    assert.deepEqual(JSON.parse(byUrl.stdout), { echo: 'hi' });
  });

  it('a mysql:// connection goes to MyManager: query with ? parameters; Postgres-only commands say so', async (t) => {
    const mysqlUrl = process.env.MYSQL_URL;
    if (!mysqlUrl) {
      t.skip('no MySQL/MariaDB server: MYSQL_URL is unset (npm test sets it when 127.0.0.1:3306 answers)');
      return;
    }
    const ran = await rxpg(['query', mysqlUrl, 'SELECT ? + 1 AS n, DATABASE() IS NOT NULL AS has_db', '41']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(JSON.parse(ran.stdout), { n: 42, has_db: 1 });
    const refused = await rxpg(['activity', mysqlUrl]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^rxpg: RXPG_CONFIGURATION configuration: rxpg activity is for PostgreSQL; the URL given is a MySQL\/MariaDB connection\.\n$/);
  });

  it('prints one line with the code and reason for an error, exits 1, and never prints a password', async () => {
    const failed = await rxpg(['query', DATABASE_URL, 'SELEC 1']);
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '');
    assert.equal(failed.stderr, 'rxpg: RXPG_QUERY syntax (SQLSTATE 42601): syntax error at or near "SELEC"\n');
    const secret = 'rxpg-test-secret-cli-9f3';
    const url = new URL(DATABASE_URL);
    url.password = secret;
    url.port = '1';
    const refused = await rxpg(['query', url.toString(), 'SELECT 1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^rxpg: RXPG_CONNECTION connection: .*ECONNREFUSED/);
    assert.ok(!refused.stderr.includes(secret) && !refused.stdout.includes(secret), 'the password is never printed');
  });

  it('export: streams every row to a file as CSV with a summary on stderr', async () => {
    const file = join(folder, 'export.csv');
    const ran = await rxpg(['export', DATABASE_URL, 'SELECT n, md5(n::text) AS hash FROM generate_series(1, $1::int) AS n', '50000', '-f', 'csv', '-o', file, '--batch-size', '1000']);
    assert.equal(ran.code, 0, ran.stderr);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 50_001);
    assert.equal(lines[0], 'n,hash');
    assert.equal(lines[50_000].split(',')[0], '50000');
    assert.match(ran.stderr, /^Exported 50000 rows in \d+\.\d s \(\d+ rows\/s\)\n$/);
  });

  it('export: CSV of a query without parameters is the server’s own, through COPY; --no-copy and statements COPY cannot wrap format rows here', async () => {
    const sql = "SELECT n, n % 2 = 0 AS even, 'a,b' AS text FROM generate_series(1, 20000) AS n";
    const byCopy = join(folder, 'by-copy.csv');
    const copied = await rxpg(['export', DATABASE_URL, sql, '-f', 'csv', '-o', byCopy]);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stderr, /^Exported 20000 rows with COPY in \d+\.\d s \(\d+ rows\/s\)\n$/);
    const server = (await admin.query<{ csv: string }>(`SELECT 'n,even,text' || E'\n' || string_agg(n || ',' || (CASE WHEN n % 2 = 0 THEN 't' ELSE 'f' END) || ',"a,b"', E'\n' ORDER BY n) || E'\n' AS csv FROM generate_series(1, 20000) AS n`)).rows[0].csv;
    assert.equal(readFileSync(byCopy, 'utf8'), server, 'the server’s CSV, byte for byte');
    const byRows = join(folder, 'by-rows.csv');
    const formatted = await rxpg(['export', DATABASE_URL, sql, '-f', 'csv', '-o', byRows, '--no-copy']);
    assert.match(formatted.stderr, /^Exported 20000 rows in /, 'positive control: the rows path says so');
    assert.equal(readFileSync(byRows, 'utf8').split('\n')[1], '1,false,"a,b"', 'rows formatted here: booleans as JSON has them');
    const show = await rxpg(['export', DATABASE_URL, 'SHOW server_encoding', '-f', 'csv']);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout, 'server_encoding\nUTF8\n', 'SHOW cannot be a COPY’s query: the rows path ran it');
  });

  it('import: loads a CSV file or stdin with COPY and says how many rows; a bad row loads nothing and says where', async () => {
    const table = uniqueName('cli_import');
    await admin.query(`CREATE TABLE ${table} (n int, label text)`);
    try {
      const file = join(folder, 'import.csv');
      writeFileSync(file, 'n,label\n1,one\n2,"two, too"\n3,\n');
      const fromFile = await rxpg(['import', DATABASE_URL, table, file]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.match(fromFile.stderr, new RegExp(`Imported 3 rows into ${table}\n$`));
      const fromStdin = await rxpg(['import', DATABASE_URL, `${table} (n)`, '-', '--no-header'], { input: '4\n5\n' });
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      const { rows } = await admin.query<{ n: number; label: string | null }>(`SELECT n, label FROM ${table} ORDER BY n`);
      assert.deepEqual(rows, [
        { n: 1, label: 'one' },
        { n: 2, label: 'two, too' },
        { n: 3, label: null },
        { n: 4, label: null },
        { n: 5, label: null },
      ]);
      const bad = await rxpg(['import', DATABASE_URL, table, '-'], { input: 'n,label\n6,six\nseven,7\n' });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /rxpg: RXPG_QUERY data \(SQLSTATE 22P02\): invalid input syntax for type integer: "seven"/);
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 5, 'the failed COPY left no row, not even the good one before it');
      const injected = await rxpg(['import', DATABASE_URL, `${table}; DROP TABLE ${table}`, file]);
      assert.equal(injected.code, 1);
      assert.match(injected.stderr, /TABLE must be a table name/);
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  it('notify and listen: the listener prints each notification as NDJSON, survives pg_terminate_backend and prints the gap', async () => {
    const channel = uniqueName('cli_channel');
    const app = uniqueName('rxpg_cli_listen');
    const listener = start(['listen', withApp(app), channel]);
    await waitFor(() => listener.output().stderr.includes(`listening on ${channel}`), () => `the listener listens (stderr: ${listener.output().stderr})`, 30_000);
    assert.equal((await rxpg(['notify', DATABASE_URL, channel, 'first'])).code, 0);
    await waitFor(() => listener.output().stdout.includes('"payload":"first"'), 'the first notification is printed', 10_000);
    const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app]);
    assert.equal(rows.length, 1, 'positive control: the listen session is there');
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    await waitFor(() => listener.output().stdout.includes('"gap"'), () => `the gap is printed (stderr: ${listener.output().stderr})`, 30_000);
    assert.equal((await rxpg(['notify', DATABASE_URL, channel, 'second'])).code, 0);
    await waitFor(() => listener.output().stdout.includes('"payload":"second"'), 'the notification after the reconnect is printed', 10_000);
    listener.child.kill('SIGINT');
    const ended = await listener.done;
    assert.equal(ended.code, 130);
    const lines = ended.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((line) => (line.gap === undefined ? line.payload : 'gap')),
      ['first', 'gap', 'second'],
    );
    assert.equal(lines[0].channel, channel);
  });

  it('Ctrl-C during a statement cancels it on the server and exits 130', async () => {
    const app = uniqueName('rxpg_cli_sleep');
    const running = start(['query', withApp(app), 'SELECT pg_sleep(60)']);
    const active = async (): Promise<number> =>
      (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", [app])).rows[0].n;
    await waitFor(async () => (await active()) === 1, 'positive control: the statement runs on the server', 30_000);
    const interruptedAt = Date.now();
    running.child.kill('SIGINT');
    const ended = await running.done;
    assert.equal(ended.code, 130, ended.stderr);
    assert.equal(ended.stdout, '', 'no partial output');
    assert.ok(Date.now() - interruptedAt < 20_000, 'exited well before the 60 s statement would have ended');
    await waitFor(async () => (await active()) === 0, 'the statement is gone from pg_stat_activity', 10_000);
  });

  it('activity and tables: the seed’s monitoring tools', async () => {
    const app = uniqueName('rxpg_cli_busy');
    const table = uniqueName('cli_big');
    await admin.query(`CREATE TABLE ${table} AS SELECT n, repeat('x', 200) AS pad FROM generate_series(1, 20000) AS n`);
    const busy = start(['query', withApp(app), 'SELECT pg_sleep(30)']);
    try {
      await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", [app])).rowCount === 1, 'the sleeper runs', 30_000);
      await waitFor(
        async () => {
          const activity = await rxpg(['activity', DATABASE_URL, '--longer-than', '500ms']);
          return activity.stdout.split('\n').some((line) => line.includes(app) && line.includes('pg_sleep(30)'));
        },
        'activity lists the statement running longer than 500 ms',
        10_000,
      );
      const none = await rxpg(['activity', DATABASE_URL, '--longer-than', '1h']);
      assert.ok(!none.stdout.includes(app), 'nothing has run for an hour');
      const bad = await rxpg(['activity', DATABASE_URL, '--longer-than', 'soon']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /--longer-than takes a duration such as 5s/);
    } finally {
      busy.child.kill('SIGINT');
      await busy.done;
    }
    const tables = await rxpg(['tables', DATABASE_URL, '--biggest', '50']);
    const listed = tables.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { table: string; total_bytes: string });
    assert.ok(listed.some((row) => row.table === table), `${table} is among the 50 biggest`);
    const sizes = listed.map((row) => Number(row.total_bytes));
    assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a), 'biggest first');
    await admin.query(`DROP TABLE ${table}`);
  });

  it('--help for every command, and the built bin when the package is built', async (t) => {
    for (const command of ['query', 'export', 'import', 'listen', 'notify', 'activity', 'tables']) {
      const help = await rxpg([command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: rxpg ${command} `));
    }
    const bin = join(process.cwd(), (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { rxpg: string } }).bin.rxpg);
    if (!existsSync(bin)) {
      t.skip('dist/ is not built (npm run build): the bin is checked in CI, which builds first');
      return;
    }
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const built = await rxpg(['query', DATABASE_URL, 'SELECT 1 AS one'], { entry: bin });
    assert.deepEqual(JSON.parse(built.stdout), { one: 1 });
  });
});

function mkdirp(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

/** DATABASE_URL with its application_name set, so the test can find its sessions. */
function withApp(app: string): string {
  const url = new URL(DATABASE_URL);
  url.searchParams.set('application_name', app);
  return url.toString();
}
