// MyManager's copyFrom() feeds LOAD DATA LOCAL INFILE from a source pulled as the socket drains;
// an abort stops the statement (KILL QUERY before the data ends) so nothing is loaded. copyTo()
// is refused: MySQL has no COPY … TO STDOUT, and stream() is its export.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, Subject, toArray } from 'rxjs';
import { QueryError, type QueryEvent } from '../src/index.js';
import { MyManager } from '../src/mysql.js';
import { LoadDataWriter } from '../src/mysql/copy/load-data-writer.js';
import { uniqueName, waitFor } from './support/database.js';
import { localMariaDbSkip, startLocalMariaDb, type LocalMariaDb } from './support/local-mariadb.js';

const MYSQL_URL = process.env.MYSQL_URL;

describe('MyManager copyFrom() and copyTo()', { skip: MYSQL_URL ? false : 'no MySQL/MariaDB server (MYSQL_URL unset)' }, () => {
  const setup = async (columns: string): Promise<{ mym: MyManager; table: string; pid: number }> => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    const table = uniqueName('rxpg_load');
    await firstValueFrom(mym.command(`CREATE TABLE ${table} (${columns}) ENGINE=InnoDB`));
    const pid = (await firstValueFrom(mym.query<{ id: number }>('SELECT CONNECTION_ID() AS id'))).id;
    return { mym, table, pid };
  };
  const countOf = async (mym: MyManager, table: string): Promise<number> => Number((await firstValueFrom(mym.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))).n);
  const drop = async (mym: MyManager, table: string): Promise<void> => {
    await firstValueFrom(mym.command(`DROP TABLE ${table}`));
    await mym.close();
  };
  /** The one session is back, idle, and serves the next statement itself. */
  const expectCleanSession = async (mym: MyManager, pid: number): Promise<void> => {
    await waitFor(() => mym.poolState().idle === 1, () => `the session back in the pool: ${JSON.stringify(mym.poolState())}`, 10_000);
    const processes = await firstValueFrom(mym.query<{ command: string; info: string | null }>('SELECT COMMAND AS command, INFO AS info FROM information_schema.PROCESSLIST WHERE ID = ?', [pid]));
    assert.equal(processes.info, 'SELECT COMMAND AS command, INFO AS info FROM information_schema.PROCESSLIST WHERE ID = ?', 'the session runs this look, no LOAD DATA');
  };

  it('loads rows (escaped as LOAD DATA reads them) and chunks, emits the count once, and one query event', async () => {
    const { mym, table } = await setup('id INT, name TEXT, seen DATETIME(3), doc JSON, ok BOOLEAN');
    const events: QueryEvent[] = [];
    mym.events$.subscribe((event) => event.type === 'query' && events.push(event));
    const seen = new Date(2024, 1, 29, 12, 30, 45, 123);
    const tricky = 'tab\there, newline\nthere, cr\r, backslash \\ and \\N, nul \0, ünïcödé ✓';
    const counts = await lastValueFrom(mym.copyFrom(`LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table}`, [[1, tricky, seen, { k: 'v' }, true], [2, null, null, null, false]]).pipe(toArray()));
    assert.deepEqual(counts, [2]);
    const rows = await lastValueFrom(mym.query<{ id: number; name: string | null; seen: Date | null; ok: number }>(`SELECT id, name, seen, doc, ok FROM ${table} ORDER BY id`).pipe(toArray()));
    assert.equal(rows[0].name, tricky);
    assert.equal(rows[0].seen?.getTime(), seen.getTime());
    assert.deepEqual(rows.map((row) => row.ok), [1, 0]);
    assert.equal(rows[1].name, null);
    assert.equal(await firstValueFrom(mym.copyFrom(`LOAD DATA LOCAL INFILE 'csv' INTO TABLE ${table} FIELDS TERMINATED BY ',' (id, name)`, ['3,thr', 'ee\n4,four\n'])), 2);
    assert.equal(await countOf(mym, table), 4);
    assert.equal(events.filter((event) => event.sql.startsWith('LOAD DATA')).map((event) => event.rowCount).join(), '2,2');
    await drop(mym, table);
  });

  it('pulls a generator as the socket drains: memory stays bounded with a fast source', async () => {
    const { mym, table } = await setup('id INT, payload TEXT');
    const payload = 'x'.repeat(200);
    const base = process.memoryUsage().arrayBuffers;
    let max = 0;
    function* rows(): Generator<unknown[]> {
      for (let id = 1; id <= 200_000; id++) {
        if (id % 5000 === 0) max = Math.max(max, process.memoryUsage().arrayBuffers - base);
        yield [id, payload];
      }
    }
    assert.equal(await firstValueFrom(mym.copyFrom(`LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table}`, rows())), 200_000);
    assert.ok(max < 24 * 2 ** 20, `at most ${(max / 2 ** 20).toFixed(1)} MB of buffers held (of 41 MB loaded), under 24 MB`);
    await drop(mym, table);
  });

  it('unsubscribing mid-load and a source error load nothing, and the session comes back clean', async () => {
    const { mym, table, pid } = await setup('id INT');
    const source = new Subject<number[]>();
    const subscription = mym.copyFrom(`LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table}`, source).subscribe({ error: (error) => assert.fail(String(error)) });
    await waitFor(() => source.observed, 'the source read once the server asked for the data', 10_000);
    // More than one 64 kB chunk: rows reach the server before the unsubscribe.
    for (let id = 1; id <= 30_000; id++) source.next([id]);
    subscription.unsubscribe();
    assert.equal(source.observed, false);
    await expectCleanSession(mym, pid);
    assert.equal(await countOf(mym, table), 0, 'the load was rolled back');
    const broken = new Error('the upstream file was truncated');
    function* failing(): Generator<number[]> {
      for (let id = 1; id <= 3000; id++) yield [id];
      throw broken;
    }
    const error = await firstValueFrom(mym.copyFrom(`LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table}`, failing())).catch((caught: unknown) => caught);
    assert.equal(error, broken);
    await expectCleanSession(mym, pid);
    assert.equal(await countOf(mym, table), 0, 'the load was rolled back');
    // Failing after rows went out: the KILL lands on a running load.
    function* failingLater(): Generator<number[]> {
      for (let id = 1; id <= 100_000; id++) yield [id];
      throw broken;
    }
    assert.equal(await firstValueFrom(mym.copyFrom(`LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table}`, failingLater())).catch((caught: unknown) => caught), broken);
    await expectCleanSession(mym, pid);
    assert.equal(await countOf(mym, table), 0, 'the load was rolled back');
    // The positive control of the count: a load that completes is seen.
    assert.equal(await firstValueFrom(mym.copyFrom(`LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table}`, [[1]])), 1);
    assert.equal(await countOf(mym, table), 1);
    await drop(mym, table);
  });

  // LOAD DATA LOCAL turns a bad value into a warning (as if IGNORE were given): no bad-row error to check here.
  it('copyTo(), and copyFrom() of another statement than LOAD DATA LOCAL INFILE, are refused with what to use instead', async () => {
    const { mym, table, pid } = await setup('id INT NOT NULL');
    const refusals = [
      await lastValueFrom(mym.copyTo(`SELECT * FROM ${table}`).pipe(toArray())).catch((caught: unknown) => caught),
      await firstValueFrom(mym.copyFrom(`INSERT INTO ${table} VALUES (1)`, [[1]])).catch((caught: unknown) => caught),
    ];
    for (const error of refusals) {
      assert.ok(error instanceof QueryError, String(error));
      assert.equal(error.reason, 'unsupported');
      assert.match(error.message, /export with stream\(\)/);
    }
    await expectCleanSession(mym, pid);
    await drop(mym, table);
  });
});

// local_infile is a global setting: turning it off on the shared server would fail the other
// specs' loads running at the same time, so these run against a private MariaDB of their own.
// MyManager's config has no way to turn LOCAL INFILE off on the client side: its connections
// always ask for it (mysql2's LOCAL_FILES flag), so the server is the one that can refuse.
const privateSkip = localMariaDbSkip();
if (privateSkip && process.env.RXPG_REQUIRE_MYSQL === '1') throw new Error(`RXPG_REQUIRE_MYSQL=1 but ${privateSkip}`);

describe('MyManager copyFrom() on a server with local_infile off (a private MariaDB)', { skip: privateSkip }, () => {
  let server: LocalMariaDb | undefined;
  before(async () => {
    server = await startLocalMariaDb(['--local-infile=0']);
  });
  after(async () => {
    await server?.stop();
  });

  it('is refused with a typed error that names local_infile and how to allow it; loads once the server allows it', async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: (server as LocalMariaDb).url, poolSize: 1 });
    const table = uniqueName('rxpg_load_refused');
    await firstValueFrom(mym.command(`CREATE TABLE ${table} (id INT, name TEXT) ENGINE=InnoDB`));
    assert.equal(Number((await firstValueFrom(mym.query<{ on: number | string }>('SELECT @@GLOBAL.local_infile AS `on`'))).on), 0, 'the private server started with local_infile off');
    const load = `LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table}`;
    let pulled = 0;
    function* rows(): Generator<unknown[]> {
      for (let id = 1; id <= 1000; id++) {
        pulled++;
        yield [id, `name ${id}`];
      }
    }
    const error = await firstValueFrom(mym.copyFrom(load, rows())).catch((caught: unknown) => caught);
    assert.ok(error instanceof QueryError, `a QueryError, got ${String(error)}`);
    assert.equal(error.reason, 'unsupported');
    assert.match(error.message, /SET GLOBAL local_infile = ON/, 'says how to allow it on the server');
    assert.match(error.message, /local_infile = 1 under \[mysqld\]/, 'and in its configuration');
    assert.match(error.message, /errno 4166/, 'with the server’s own refusal');
    assert.equal(pulled, 0, 'the source was never read: the server refused before asking for the data');
    // The session survives the refusal and serves the next statement.
    assert.equal(Number((await firstValueFrom(mym.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))).n), 0);
    // The positive control: the same load on the same server, once it allows LOCAL INFILE.
    await firstValueFrom(mym.command('SET GLOBAL local_infile = ON'));
    assert.equal(await firstValueFrom(mym.copyFrom(load, rows())), 1000);
    assert.equal(pulled, 1000);
    assert.equal(Number((await firstValueFrom(mym.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))).n), 1000);
    await mym.close();
  });
});

describe("MyManager copyFrom()'s LOAD DATA encoding", () => {
  it('writes numbers as String() does: integers and doubles of every magnitude, exponent forms included', async () => {
    const values = [0, -0, 1, -1, 123_456_789, 2 ** 53, 1e21, 1e300, -1e-7, 0.1, 1 / 7, 5e-324, Infinity, -Infinity, NaN];
    for (let index = 0; index < 2000; index++) values.push((Math.random() - 0.5) * 10 ** ((index % 60) - 30));
    const writer = new LoadDataWriter(
      () => {},
      () => {},
    );
    for (const value of values) writer.write([value]);
    writer.end();
    const chunks = (await writer.readable.toArray()) as Buffer[];
    assert.deepEqual(Buffer.concat(chunks).toString('utf8').split('\n').slice(0, -1), values.map(String));
  });
});
