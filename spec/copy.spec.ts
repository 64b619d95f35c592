// COPY as observables: copyTo() emits a COPY … TO STDOUT's data with demand (the server waits
// while a stage is busy), copyFrom() feeds a COPY … FROM STDIN from a source pulled as the socket
// drains. Aborts (unsubscribe, a source error, a bad row, a timeout) leave no rows, no COPY
// running on the server and a clean session in the pool.
import assert from 'node:assert/strict';
import { writeFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, Observable, reduce, Subject, take, throwError, toArray } from 'rxjs';
import { ConfigurationError, PgManager, QueryError, StatementTimeoutError, type DbEvent, type QueryEvent } from '../src/index.js';
import pg from 'pg';
import pgUtils from 'pg/lib/utils.js';
import { CopyOutCollector } from '../src/postgres/copy/copy-out-collector.js';
import { CopyTextEncoder } from '../src/postgres/copy/copy-text-encoder.js';
import { useCopyChecks } from './support/copy-checks.js';
import { DATABASE_URL, testManager, uniqueName, waitFor } from './support/database.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

const { prepareValue } = pgUtils;

describe('copyTo() and copyFrom(): COPY as observables', () => {
  const { admin, table, countOf, copyRunning, expectCleanSession, expectUnsubscribeRollsBack, pidOf } = useCopyChecks('rxpg_copy');

  describe('copyFrom()', () => {
    it('copies rows of every kind of value, emits the count once, and the server reads back what was sent', async () => {
      const name = await table('id int, name text, seen timestamptz, tags text[], doc jsonb, raw bytea, ok boolean, big bigint, note text');
      const { pgm } = testManager();
      const seen = new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 123));
      const tricky = 'tab\there, newline\nthere, cr\r, backslash \\ and \\N, bell-ish \b\f\v, ünïcödé ✓ 🐘';
      const rows = [
        [1, tricky, seen, ['a', 'b"c', null], { k: 'v\n', n: [1, 2] }, Buffer.from([0, 1, 92, 255]), true, 9007199254740993n, null],
        [2, '', null, [], null, Buffer.alloc(0), false, -1n, '\\.'],
      ];
      const counts = await lastValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, rows).pipe(toArray()));
      assert.deepEqual(counts, [2], 'one value: the row count');
      const back = (await admin.query(`SELECT id, name, seen, tags, doc, raw, ok, big::text AS big, note FROM ${name} ORDER BY id`)).rows;
      assert.deepEqual(back[0], { id: 1, name: tricky, seen, tags: ['a', 'b"c', null], doc: { k: 'v\n', n: [1, 2] }, raw: Buffer.from([0, 1, 92, 255]), ok: true, big: '9007199254740993', note: null });
      assert.deepEqual(back[1], { id: 2, name: '', seen: null, tags: [], doc: null, raw: Buffer.alloc(0), ok: false, big: '-1', note: '\\.' });
      await pgm.close();
    });

    it("escapes text exactly as the server's own COPY … TO text output does", async () => {
      const name = await table('a text, b text');
      const values = ['\\', '\b', '\t', '\n', '\v', '\f', '\r', '\x01\x1f\x7f', 'a\\b\tc\nd', 'plain', '\\N', 'ü✓🐘'];
      const rows = values.map((value, index) => [value, `${index}`]);
      const sent: Buffer[] = [];
      const encoder = new CopyTextEncoder((message) => sent.push(message.subarray(5)));
      for (const row of rows) encoder.row(row);
      encoder.flush();
      const { pgm } = testManager();
      assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, rows)), rows.length);
      const server = Buffer.concat(await lastValueFrom(pgm.copyTo(`COPY (SELECT a, b FROM ${name} ORDER BY b::int) TO STDOUT`).pipe(toArray())));
      assert.equal(Buffer.concat(sent).toString('utf8'), server.toString('utf8'), 'the bytes rxpg encodes are the bytes the server writes for the same rows');
      await pgm.close();
    });

    it('encodes a Date exactly as pg binds it as a parameter (its own fast path, checked against pg over years 1 to 9999)', () => {
      const encoded = (value: unknown): string => {
        const sent: Buffer[] = [];
        const encoder = new CopyTextEncoder((message) => sent.push(message.subarray(5)));
        encoder.row([value]);
        encoder.flush();
        return Buffer.concat(sent).toString('utf8').slice(0, -1);
      };
      let checked = 0;
      for (let index = 0; index < 20_000; index++) {
        const date = new Date(-62_135_596_800_000 + Math.floor(Math.random() * 315_537_897_600_000));
        assert.equal(encoded(date), prepareValue(date), `the Date ${date.toISOString()}`);
        checked++;
      }
      for (const date of [new Date(-62_198_755_200_000), new Date(253_402_300_800_000), new Date(0), new Date(2025, 2, 30, 2, 30)]) {
        assert.equal(encoded(date), prepareValue(date), `the Date ${date.toISOString()}`);
        checked++;
      }
      assert.equal(checked, 20_004);
    });

    it('encodes Dates in a row, sorted and not, as pg binds each (the encoder remembers the last day written)', () => {
      const sent: Buffer[] = [];
      const encoder = new CopyTextEncoder((message) => sent.push(message.subarray(5)));
      const dates: Date[] = [];
      // Sorted timestamps a few minutes apart cross days (and DST changes, in a zone that has them) …
      for (let time = Date.UTC(2024, 2, 28); time < Date.UTC(2024, 3, 2); time += 7 * 60_000 + 123) dates.push(new Date(time));
      // … then back and forth between days, and out of the fast path's years and back.
      for (let index = 0; index < 2000; index++) dates.push(new Date(Date.UTC(2024, 0, 1) + Math.floor(Math.random() * 5 * 86_400_000)));
      dates.push(new Date(-62_198_755_200_000), new Date(2024, 0, 1, 12), new Date(253_402_300_800_000), new Date(2024, 0, 1, 13));
      for (const date of dates) encoder.row([date]);
      encoder.flush();
      const lines = Buffer.concat(sent).toString('utf8').split('\n');
      assert.equal(lines.pop(), '');
      assert.deepEqual(lines, dates.map((date) => prepareValue(date)));
    });

    it('writes numbers as String() does: integers digit by digit, other numbers through V8', () => {
      const values = [0, -0, 1, -1, 7, 9, 10, 99, 100, 123_456_789, -2_147_483_648, 4_294_967_296, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1e21, 1e300, -1e-7, 0.1, 1 / 7, 5e-324, Infinity, -Infinity, NaN];
      for (let index = 0; index < 2000; index++) values.push(Math.floor((Math.random() - 0.5) * 2 ** (index % 60)));
      // Doubles of every magnitude, exponent forms included (JSON.stringify writes finite ones).
      for (let index = 0; index < 2000; index++) values.push((Math.random() - 0.5) * 10 ** ((index % 60) - 30));
      const sent: Buffer[] = [];
      const encoder = new CopyTextEncoder((message) => sent.push(message.subarray(5)));
      for (const value of values) encoder.row([value]);
      encoder.flush();
      assert.deepEqual(Buffer.concat(sent).toString('utf8').split('\n').slice(0, -1), values.map(String));
    });

    it('sends Buffer and string chunks as they are: CSV from a file through a Node Readable, and from an array of strings', async () => {
      const name = await table('id int, label text');
      const folder = mkdtempSync(join(tmpdir(), 'rxpg-copy-'));
      try {
        const file = join(folder, 'in.csv');
        writeFileSync(file, Array.from({ length: 5000 }, (_, index) => `${index + 1},"label, ${index + 1}"\n`).join(''));
        const { pgm } = testManager();
        // A small highWaterMark cuts rows across chunks: the server joins them.
        assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT csv)`, createReadStream(file, { highWaterMark: 1000 }))), 5000);
        assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN (FORMAT csv)`, ['5001,"a', 'b"\n5002,', 'c\n'])), 2);
        const last = (await admin.query(`SELECT id, label FROM ${name} WHERE id IN (5000, 5001, 5002) ORDER BY id`)).rows;
        assert.deepEqual(last, [{ id: 5000, label: 'label, 5000' }, { id: 5001, label: 'ab' }, { id: 5002, label: 'c' }]);
        await pgm.close();
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });

    it('reads an Observable, an async generator and an empty source', async () => {
      const name = await table('id int');
      const { pgm } = testManager();
      assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, new Observable<number[]>((subscriber) => {
        for (let id = 1; id <= 1000; id++) subscriber.next([id]);
        subscriber.complete();
      }))), 1000);
      async function* later(): AsyncGenerator<number[]> {
        for (let id = 1001; id <= 1500; id++) {
          if (id % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
          yield [id];
        }
      }
      assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, later())), 500);
      assert.equal(await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, [])), 0);
      assert.equal(await countOf(name), 1500);
      const sum = Number((await admin.query(`SELECT sum(id) AS s FROM ${name}`)).rows[0].s);
      assert.equal(sum, (1500 * 1501) / 2, 'every row once');
      await pgm.close();
    });

    it('pulls a generator only as fast as the socket drains: with the server stalled, the source stops and memory stays bounded', async () => {
      const name = await table('id int PRIMARY KEY, payload text');
      const { pgm, app } = testManager();
      const payload = 'x'.repeat(200);
      const rows = 400_000; // about 82 MB of COPY text
      // Another transaction holds id 1 uncommitted: the COPY's first row waits for it, and the
      // server reads nothing more until it ends. What the client has produced by then is what it
      // holds: the kernel's socket buffers, and whatever it pulled without demand.
      const blocker = new pg.Client({ connectionString: DATABASE_URL });
      await blocker.connect();
      const stalled = async (run: (probe: { pulled: number; held: () => number }) => Promise<number>): Promise<{ pulled: number; held: number }> => {
        await blocker.query('BEGIN');
        await blocker.query(`INSERT INTO ${name} VALUES (1, 'blocker')`);
        // The earlier phase's spent buffers freed first: freed during this one, they would make
        // what this one holds look smaller (the control once measured 39.5 MB of its 82).
        (globalThis as { gc?: () => void }).gc?.();
        const base = process.memoryUsage().arrayBuffers;
        const probe = { pulled: 0, max: 0, held: () => (probe.max = Math.max(probe.max, process.memoryUsage().arrayBuffers - base)) };
        const copied = run(probe);
        await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [app])).rowCount === 1, 'the COPY waiting for the row lock', 10_000);
        let last = -1;
        await waitFor(() => {
          const settled = probe.pulled === last;
          last = probe.pulled;
          probe.held();
          return settled;
        }, 'the source settled while the server waited', 20_000);
        const seen = { pulled: probe.pulled, held: probe.max };
        await blocker.query('ROLLBACK');
        assert.equal(await copied, rows, 'every row once the server went on');
        await admin.query(`TRUNCATE ${name}`);
        return seen;
      };
      try {
        function* generated(probe: { pulled: number; held: () => number }): Generator<unknown[]> {
          for (let id = 1; id <= rows; id++) {
            probe.pulled = id;
            if (id % 5000 === 0) probe.held();
            yield [id, payload];
          }
        }
        const pulled = await stalled((probe) => firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, generated(probe))));
        assert.ok(pulled.pulled < rows / 4, `the source gave ${pulled.pulled} of ${rows} rows while the server waited`);
        assert.ok(pulled.held < 24 * 2 ** 20, `at most ${(pulled.held / 2 ** 20).toFixed(1)} MB of buffers held, under 24 MB`);
        // The control: an Observable cannot be told to wait, so the same rows pile up in the
        // socket's buffer, and the same probes see it.
        const pushed = await stalled((probe) =>
          firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, new Observable<unknown[]>((subscriber) => {
            for (let id = 1; id <= rows; id++) {
              probe.pulled = id;
              if (id % 5000 === 0) probe.held();
              subscriber.next([id, payload]);
            }
            subscriber.complete();
          }))),
        );
        assert.equal(pushed.pulled, rows, 'the control emitted every row while the server waited');
        assert.ok(pushed.held > 48 * 2 ** 20, `the control held ${(pushed.held / 2 ** 20).toFixed(1)} MB, over 48 MB`);
      } finally {
        await blocker.end();
      }
      await pgm.close();
    });

    it('unsubscribing mid-copy sends CopyFail: no rows, no COPY running, the session clean in the pool', async () => {
      const name = await table('id int');
      await expectUnsubscribeRollsBack(name, `COPY ${name} FROM STDIN`, {}, 1000, (id) => [id]);
    });

    it('a source error fails the COPY with its message, and the caller gets that very error once the session is clean', async () => {
      const name = await table('id int');
      const { pgm, app } = testManager({ poolSize: 1 });
      const pid = await pidOf(pgm);
      const broken = new Error('the upstream file was truncated');
      function* rows(): Generator<number[]> {
        for (let id = 1; id <= 3000; id++) yield [id];
        throw broken;
      }
      const events: DbEvent[] = [];
      pgm.events$.subscribe((event) => events.push(event));
      const error = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, rows())).catch((caught: unknown) => caught);
      assert.equal(error, broken, 'the source error itself');
      assert.equal(pgm.poolState().idle, 1, 'the session was back in the pool before the caller heard');
      assert.ok(!events.some((event) => event.type === 'query' && /^COPY/.test(event.sql)), 'no query event for a failed COPY');
      await expectCleanSession(pgm, app, pid);
      assert.equal(await countOf(name), 0);
      // An Observable's error does the same.
      const observed = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, concat([[1], [2]], throwError(() => broken)))).catch((caught: unknown) => caught);
      assert.equal(observed, broken);
      assert.equal(await countOf(name), 0);
      await pgm.close();
    });

    it("a row the server rejects fails with a QueryError carrying the server's COPY line context", async () => {
      const name = await table('id int NOT NULL');
      const { pgm, app } = testManager({ poolSize: 1 });
      const pid = await pidOf(pgm);
      const error = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, [[1], [2], ['three'], [4]])).catch((caught: unknown) => caught);
      assert.ok(error instanceof QueryError, String(error));
      assert.equal(error.reason, 'data');
      assert.equal(error.sqlState, '22P02');
      assert.match(error.where ?? '', new RegExp(`COPY ${name}, line 3, column id: "three"`));
      assert.equal(error.statement, `COPY ${name} FROM STDIN`);
      assert.equal(error.conn, 'default');
      await expectCleanSession(pgm, app, pid);
      assert.equal(await countOf(name), 0);
      await pgm.close();
    });

    it('a value COPY cannot carry fails with a typed error naming the row, and nothing is copied', async () => {
      const name = await table('id int, note text');
      const { pgm, app } = testManager({ poolSize: 1 });
      const pid = await pidOf(pgm);
      const error = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, [[1, 'a'], [2, undefined]])).catch((caught: unknown) => caught);
      assert.ok(error instanceof QueryError, String(error));
      assert.equal(error.reason, 'data');
      assert.match(error.message, /row 2 of the source has undefined in column 2: pass null/);
      const notRow = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, [{ id: 1 }] as never)).catch((caught: unknown) => caught);
      assert.ok(notRow instanceof QueryError && /may emit Buffers or strings .* or rows as arrays/.test(notRow.message), String(notRow));
      await expectCleanSession(pgm, app, pid);
      assert.equal(await countOf(name), 0);
      await pgm.close();
    });

    it('refuses at once what it cannot read, and a statement that is not COPY … FROM STDIN', async () => {
      const { pgm } = testManager();
      assert.throws(() => pgm.copyFrom('COPY t FROM STDIN', 'a,b\n' as never), (error) => error instanceof ConfigurationError && /single string; wrap it/.test(error.message));
      assert.throws(() => pgm.copyFrom('COPY t FROM STDIN', 42 as never), ConfigurationError);
      assert.throws(() => pgm.copyFrom('COPY t FROM STDIN', [], { conn: 'default', batchSize: 3 } as never), /unknown option 'batchSize'/);
      const notCopy = await firstValueFrom(pgm.copyFrom('SELECT 1', [])).catch((caught: unknown) => caught);
      assert.ok(notCopy instanceof QueryError && notCopy.reason === 'unsupported' && /not a COPY … FROM STDIN/.test(notCopy.message), String(notCopy));
      const wrongWay = await lastValueFrom(pgm.copyTo('COPY (SELECT 1) TO STDOUT').pipe(toArray()));
      assert.equal(Buffer.concat(wrongWay).toString(), '1\n');
      const name = await table('id int');
      const intoTo = await lastValueFrom(pgm.copyTo(`COPY ${name} FROM STDIN`).pipe(toArray())).catch((caught: unknown) => caught);
      assert.ok(intoTo instanceof QueryError && intoTo.reason === 'unsupported' && /Run it with copyFrom/.test(intoTo.message), String(intoTo));
      await pgm.close();
    });

    it('times out like a query: a source that stalls gets a StatementTimeoutError, and the session comes back clean', async () => {
      const name = await table('id int');
      const { pgm, app } = testManager({ poolSize: 1 });
      const pid = await pidOf(pgm);
      const stalled = new Subject<number[]>();
      const started = Date.now();
      const error = await firstValueFrom(pgm.copyFrom(`COPY ${name} FROM STDIN`, concat([[1]], stalled), { timeout: 500 })).catch((caught: unknown) => caught);
      const elapsed = Date.now() - started;
      assert.ok(error instanceof StatementTimeoutError, String(error));
      assert.ok(elapsed >= 490 && elapsed < 8000, `timed out after the limit, not long after (${elapsed} ms)`);
      assert.equal(stalled.observed, false, 'the source was unsubscribed');
      await expectCleanSession(pgm, app, pid);
      assert.equal(await countOf(name), 0);
      await pgm.close();
    });

    it('inside transaction() a COPY is part of the transaction: committed with it, undone by its rollback', async () => {
      const name = await table('id int');
      const { pgm } = testManager();
      const committed = await lastValueFrom(
        pgm.transaction((tx) => concat(tx.copyFrom(`COPY ${name} FROM STDIN`, [[1], [2]]), tx.copyFrom(`COPY ${name} FROM STDIN`, ['3\n'], { timeout: 5000 }))).pipe(toArray()),
      );
      assert.deepEqual(committed, [2, 1]);
      assert.equal(await countOf(name), 3);
      const failure = new Error('changed my mind');
      const rolledBack = await lastValueFrom(
        pgm.transaction((tx) => concat(tx.copyFrom(`COPY ${name} FROM STDIN`, [[4], [5]]), throwError(() => failure))),
      ).catch((caught: unknown) => caught);
      assert.equal(rolledBack, failure);
      assert.equal(await countOf(name), 3, 'the rollback undid the copied rows');
      // conn and curs handles have it too; the copied rows are visible in the same session at once.
      const seen = await lastValueFrom(
        pgm.connection((conn) => concat(conn.copyFrom(`COPY ${name} FROM STDIN`, [[6]]), conn.copyTo(`COPY (SELECT count(*) FROM ${name}) TO STDOUT`))).pipe(toArray()),
      );
      assert.deepEqual(seen.map(String), ['1', '4\n']);
      await pgm.close();
    });
  });

  describe('copyTo()', () => {
    it('emits the data in the format the statement asks for, whole rows per chunk, and one query event with the row count', async () => {
      const { pgm } = testManager();
      const events: QueryEvent[] = [];
      pgm.events$.subscribe((event) => event.type === 'query' && events.push(event));
      const chunks = await lastValueFrom(pgm.copyTo('COPY (SELECT n, repeat($$y$$, n % 50) AS s FROM generate_series(1, 100000) AS n) TO STDOUT (FORMAT csv)').pipe(toArray()));
      assert.ok(chunks.length > 1, `several chunks (${chunks.length})`);
      for (const chunk of chunks) assert.equal(chunk[chunk.length - 1], 0x0a, 'each chunk ends with a whole row');
      const lines = Buffer.concat(chunks).toString().split('\n');
      assert.equal(lines.length, 100001);
      assert.equal(lines[41], `42,${'y'.repeat(42)}`);
      const copyEvents = events.filter((event) => event.sql.startsWith('COPY'));
      assert.equal(copyEvents.length, 1, 'one query event');
      assert.equal(copyEvents[0].rowCount, 100000);
      assert.ok(copyEvents[0].durationMillis >= 0);
      const binary = Buffer.concat(await lastValueFrom(pgm.copyTo('COPY (SELECT 1::int) TO STDOUT (FORMAT binary)').pipe(toArray())));
      assert.equal(binary.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
      await pgm.close();
    });

    // The collector moves payloads together inside the socket's chunks (copy-out-collector.ts):
    // a chunk handed on must keep its bytes however many reads follow, rows cut between reads
    // must arrive whole, and messages between the rows (notices) must not leak into the data.
    it("chunks are the consumer's to keep: held across every read they still hold the exact rows, with notices between rows and rows larger than a read", async () => {
      const { pgm } = testManager();
      const noisy = uniqueName('rxpg_copy_noisy');
      await admin.query(
        `CREATE FUNCTION ${noisy}(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF n % 997 = 0 THEN RAISE NOTICE 'row %', n; END IF; RETURN n; END $$`,
      );
      try {
        const notices: string[] = [];
        pgm.events$.subscribe((event) => event.type === 'notice' && notices.push(event.message));
        const total = 60_000;
        const label = (n: number): string => (n % 20_000 === 7 ? 'x'.repeat(300_000) : 'r'.repeat(n % 61));
        const held: { chunk: Buffer; copy: Buffer }[] = [];
        await lastValueFrom(
          pgm.copyTo(`COPY (SELECT ${noisy}(n), CASE WHEN n % 20000 = 7 THEN repeat('x', 300000) ELSE repeat('r', n % 61) END FROM generate_series(1, ${total}) AS n) TO STDOUT`).pipe(
            reduce((count, chunk) => (held.push({ chunk, copy: Buffer.from(chunk) }), count + 1), 0),
          ),
        );
        assert.ok(held.length > 10, `many reads (${held.length} chunks)`);
        assert.equal(notices.length, Math.floor(total / 997), 'the notices came between the rows');
        for (const [index, { chunk, copy }] of held.entries()) assert.ok(chunk.equals(copy), `chunk ${index} unchanged after every later read`);
        const expected = Array.from({ length: total }, (_, index) => `${index + 1}\t${label(index + 1)}\n`).join('');
        assert.ok(Buffer.concat(held.map(({ chunk }) => chunk)).equals(Buffer.from(expected)), 'exactly the rows, in order');
      } finally {
        await admin.query(`DROP FUNCTION ${noisy}(int)`);
      }
      await pgm.close();
    });

    // The server is what bounds a COPY … TO, and waking a client that reads each send as it comes
    // costs it CPU (copy-out-collector.ts, readEnded): after a short read the socket rests one
    // timer tick, and what came meanwhile is read at once.
    it(
      'reads data that trickles in as it comes in few large reads: after a short read, reading waits one timer tick',
      // Without the message tap pg parses the socket and hands on one CopyData at a time: no reads to gather.
      { skip: process.env.RXPG_MESSAGE_TAP === 'off' && 'the message tap is off (RXPG_MESSAGE_TAP=off): copyTo gets no socket reads to wait between' },
      async () => {
        const proxy = await TcpProxy.start(databaseTarget());
        const pgm = new PgManager();
        pgm.createConn({ ...throughProxy(proxy), poolSize: 1, sslmode: 'disable' });
        try {
          await firstValueFrom(pgm.query('SELECT 1'));
          proxy.trickle(1024);
          const before = proxy.trickled;
          const chunks = await lastValueFrom(pgm.copyTo('COPY (SELECT n, repeat($$t$$, 90) FROM generate_series(1, 4000) AS n) TO STDOUT').pipe(toArray()));
          const pieces = proxy.trickled - before;
          const expected = Array.from({ length: 4000 }, (_, index) => `${index + 1}\t${'t'.repeat(90)}\n`).join('');
          assert.equal(Buffer.concat(chunks).toString(), expected, 'exactly the rows, in order');
          assert.ok(pieces >= 350, `the data came in ${pieces} writes of 1 kB, one per turn of the event loop`);
          assert.ok(chunks.length * 3 <= pieces, `${chunks.length} chunks for ${pieces} writes: reads that each took what one write brought`);
          // Reading waits only while the COPY runs: the next statement is answered at once.
          assert.equal((await firstValueFrom(pgm.query<{ ok: number }>('SELECT 1 AS ok'))).ok, 1);
        } finally {
          await pgm.close();
          await proxy.stop();
        }
      },
    );

    it("a short read's wait never outlives the COPY, and never resumes a socket the consumer paused", (context) => {
      context.mock.timers.enable({ apis: ['setTimeout'] });
      const calls: string[] = [];
      const socketLike = (extra: { encrypted?: boolean; readableLength?: number } = {}) => ({
        write: () => true,
        writableNeedDrain: false,
        once: () => undefined,
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
        ...extra,
      });
      const socket = socketLike();
      const chunks: Buffer[] = [];
      /** One socket read of `bytes` bytes (the wire's, headers included) that brought these rows. */
      const read = (collector: CopyOutCollector, rows: string[], bytes?: number): void => {
        const messages = Buffer.concat(rows.map((payload) => {
          const message = Buffer.alloc(5 + Buffer.byteLength(payload));
          message[0] = 0x64;
          message.writeInt32BE(4 + Buffer.byteLength(payload), 1);
          message.write(payload, 5);
          return message;
        }));
        let at = 0;
        for (const payload of rows) {
          const length = Buffer.byteLength(payload);
          collector.add(messages, at + 5, at + 5 + length);
          at += 5 + length;
        }
        collector.readEnded(bytes ?? messages.length);
      };
      const collector = new CopyOutCollector({ copyData: (chunk) => chunks.push(chunk) }, socket, true);
      read(collector, ['1\ta\n']);
      assert.deepEqual(calls, ['pause'], 'a short read pauses reading');
      context.mock.timers.tick(1);
      assert.deepEqual(calls, ['pause', 'resume'], 'and the tick resumes it');
      // The consumer pauses while the tick runs: the tick must leave the socket paused.
      read(collector, ['2\tb\n']);
      collector.control.pause();
      context.mock.timers.tick(1);
      assert.deepEqual(calls.slice(2), ['pause', 'pause'], 'paused by the consumer, not resumed by the tick');
      collector.control.resume();
      assert.deepEqual(calls.slice(4), ['resume'], "the consumer's resume reads again");
      // The COPY ends during a tick: reading resumes at once, and the tick never fires (the next
      // statement may have paused the socket by then).
      read(collector, ['3\tc\n']);
      collector.end();
      assert.deepEqual(calls.slice(5), ['pause', 'resume'], 'resumed at the end');
      socket.pause();
      context.mock.timers.tick(5);
      assert.deepEqual(calls.slice(7), ['pause'], "no resume after the end: the next statement's pause holds");
      assert.equal(Buffer.concat(chunks).toString(), '1\ta\n2\tb\n3\tc\n');
      calls.length = 0;

      // A full read does not wait, though its narrow rows hand on less than half of it (the
      // headers are 5 bytes a row): the read's own size counts.
      const narrow = new CopyOutCollector({ copyData: () => {} }, socket, true);
      read(narrow, Array.from({ length: 9362 }, () => 't\n'));
      assert.deepEqual(calls, [], 'no pause after a full read of narrow rows');
      // Nor a short read with more already read and waiting in the stream.
      read(new CopyOutCollector({ copyData: () => {} }, socketLike({ readableLength: 16_384 }), true), ['4\td\n']);
      assert.deepEqual(calls, [], 'no pause with data waiting in the stream');
      // Nor on TLS, whose reads are one record each, however much waits.
      read(new CopyOutCollector({ copyData: () => {} }, socketLike({ encrypted: true }), true), ['5\te\n']);
      assert.deepEqual(calls, [], 'no pause on a TLS socket');
      // Once the consumer has gone, the rest is read as it comes: a wait in progress ends at once.
      const left = new CopyOutCollector({ copyData: () => {} }, socket, true);
      read(left, ['6\tf\n']);
      left.control.drain?.();
      read(left, ['7\tg\n']);
      context.mock.timers.tick(5);
      assert.deepEqual(calls, ['pause', 'resume'], 'drained: resumed at once, no wait after');
    });

    it('the server waits while the stage is busy: the socket is paused, and every row arrives once the stage lets go', async () => {
      const { pgm } = testManager();
      const sequence = uniqueName('rxpg_copy_seq');
      await admin.query(`CREATE SEQUENCE ${sequence}`);
      try {
        const total = 200_000; // rows of 1 kB: 200 MB, far more than the socket buffers hold
        const produced = async (): Promise<number> => Number((await admin.query(`SELECT last_value FROM ${sequence}`)).rows[0].last_value);
        let release: () => void = () => {};
        let stages = 0;
        const bytes = lastValueFrom(
          pgm.copyTo(`COPY (SELECT nextval('${sequence}'), repeat('z', 1000) FROM generate_series(1, ${total})) TO STDOUT`, [], {
            stage: () => {
              stages++;
              return stages === 1 ? new Promise<void>((resolve) => (release = resolve)) : undefined;
            },
          }).pipe(reduce((sum, chunk) => sum + chunk.length, 0)),
        );
        await waitFor(() => stages === 1, 'the first chunk in the stage', 10_000);
        // The server runs ahead only by what the socket buffers hold; then it waits.
        let last = -1;
        await waitFor(async () => {
          const now = await produced();
          const settled = now === last;
          last = now;
          return settled;
        }, 'the server stopped producing while the stage was busy', 20_000);
        assert.ok(last < total / 4, `the server produced ${last} of ${total} rows while the stage held the first chunk`);
        assert.equal(stages, 1, 'no chunk went on while the stage was busy');
        release();
        let expected = 0;
        for (let n = 1; n <= total; n++) expected += String(n).length + 1002;
        assert.equal(await bytes, expected, 'every byte arrived');
        assert.equal(await produced(), total);
      } finally {
        await admin.query(`DROP SEQUENCE ${sequence}`);
      }
      await pgm.close();
    });

    // generate_series in the select list streams its rows; in FROM it would compute them all first.
    it('unsubscribing cancels the COPY on the server (no COPY running after) and the session is clean in the pool', async () => {
      const { pgm, app } = testManager({ poolSize: 1 });
      const pid = await pidOf(pgm);
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      const subscription = pgm
        .copyTo('COPY (SELECT n, repeat($$w$$, 500) FROM (SELECT generate_series(1, 50000000) AS n) AS numbers) TO STDOUT', [], { stage: () => held })
        .subscribe({ error: (error) => assert.fail(`no error after unsubscribe: ${String(error)}`) });
      // The positive control: while the stage holds a chunk, the COPY is on the server.
      await waitFor(() => copyRunning(app), 'the COPY running on the server', 10_000);
      subscription.unsubscribe();
      release();
      await expectCleanSession(pgm, app, pid);
      // take() ends it the same way, with no stage.
      const first = await firstValueFrom(pgm.copyTo('COPY (SELECT generate_series(1, 50000000)) TO STDOUT').pipe(take(1)));
      assert.ok(first.toString().startsWith('1\n'), 'the first rows');
      await expectCleanSession(pgm, app, pid);
      await pgm.close();
    });

    it('times out like a query, and an error in a stage ends the COPY with that error', async () => {
      const { pgm, app } = testManager({ poolSize: 1 });
      const pid = await pidOf(pgm);
      const timedOut = await lastValueFrom(pgm.copyTo('COPY (SELECT pg_sleep(5)) TO STDOUT', [], { timeout: 300 })).catch((caught: unknown) => caught);
      assert.ok(timedOut instanceof StatementTimeoutError, String(timedOut));
      await expectCleanSession(pgm, app, pid);
      const failure = new Error('disk full');
      const failed = await lastValueFrom(
        pgm.copyTo('COPY (SELECT generate_series(1, 50000000)) TO STDOUT', [], { stage: () => Promise.reject(failure) }),
      ).catch((caught: unknown) => caught);
      assert.equal(failed, failure);
      await expectCleanSession(pgm, app, pid);
      assert.throws(() => pgm.copyTo('COPY t TO STDOUT', [], { stage: 'file' as never }), /stage must be a function/);
      await pgm.close();
    });
  });
});
