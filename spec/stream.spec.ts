import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, count, filter, firstValueFrom, from, lastValueFrom, map, reduce, Subject, take, takeUntil, tap, throwError, timer, toArray } from 'rxjs';
import { ConnectionError, QueryError, type DbEvent } from '../src/index.js';
import { sessionsOf, testManager, useAdminClient, waitFor, waitForIdle } from './support/database.js';

describe('stream(): a server-side cursor with backpressure', () => {
  const admin = useAdminClient();

  // 5 s: each statement waited on would hold its session far longer by itself (30 s sleeps, a
  // million rows at 0.5 ms, a portal left open), and a loaded machine can take a second to answer.
  const idleOnServer = (app: string, message: string, timeoutMillis = 5000) => waitForIdle(admin, app, message, timeoutMillis);

  it('emits every row in order, one at a time, fetching batch after batch', async () => {
    const { pgm } = testManager();
    const events: DbEvent[] = [];
    const subscription = pgm.events$.subscribe((event) => events.push(event));
    const total = await lastValueFrom(
      pgm.stream<{ n: number }>('SELECT n FROM generate_series(1, 10007) AS n WHERE n > $1', [0], { batchSize: 1000 }).pipe(
        reduce((acc, row) => {
          assert.equal(row.n, acc.last + 1);
          return { last: row.n, count: acc.count + 1 };
        }, { last: 0, count: 0 }),
      ),
    );
    subscription.unsubscribe();
    assert.deepEqual(total, { last: 10007, count: 10007 });
    const query = events.find((event) => event.type === 'query');
    assert.ok(query && query.type === 'query' && query.rowCount === 7, 'the last Execute returned the last 7 rows');
    await pgm.close();
  });

  it('fetches the next batch only after the consumer finished the previous one', async () => {
    const { pgm } = testManager();
    // nextval() runs as the server produces each row. Another session reads the sequence while
    // the consumer works on a batch: the server must not have produced a single row more.
    const sequence = `rxpg_seq_${process.pid}_${Date.now()}`;
    await admin.query(`CREATE SEQUENCE ${sequence}`);
    let received = 0;
    const ahead = await lastValueFrom(
      pgm.streamBatches<{ n: number }, number>(
        `SELECT n, nextval('${sequence}') AS produced FROM generate_series(1, 50) AS n`,
        [],
        (rows) => {
          received += rows.length;
          return from(admin.query(`SELECT last_value FROM ${sequence}`)).pipe(map((result) => Number(result.rows[0].last_value) - received));
        },
        { batchSize: 10 },
      ).pipe(toArray()),
    );
    assert.deepEqual(ahead, [0, 0, 0, 0, 0], 'the server ran ahead of the consumer');
    await admin.query(`DROP SEQUENCE ${sequence}`);
    await pgm.close();
  });

  it('take(n) closes the cursor: the server stops within seconds (not the 500 s the statement would run) and the session is reused', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    const rows = await lastValueFrom(
      pgm.stream<{ n: number }>('SELECT n, pg_sleep(0.0005) FROM generate_series(1, 1000000) AS n', [], { batchSize: 100 }).pipe(take(150), toArray()),
    );
    assert.equal(rows.length, 150);
    await idleOnServer(app, 'the server stopped the cursor');
    await waitFor(() => pgm.poolState().idle === 1, 'the lease is back');
    const again = await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'));
    assert.equal(again.pid, pid, 'the same session, clean');
    await pgm.close();
  });

  it('first(), takeUntil and a downstream error also end it cleanly, with a fetch running or paused', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const slow = 'SELECT n, pg_sleep(CASE WHEN n > 200 THEN 30 ELSE 0 END) FROM generate_series(1, 1000) AS n';
    assert.equal((await firstValueFrom(pgm.stream<{ n: number }>(slow, [], { batchSize: 100 }))).n, 1);
    await idleOnServer(app, 'first() closed it');
    const stop = new Subject<void>();
    const running = lastValueFrom(pgm.stream(slow, [], { batchSize: 100 }).pipe(takeUntil(stop)), { defaultValue: null });
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active'), 'the third fetch sleeps on the server');
    stop.next();
    await running;
    await idleOnServer(app, 'takeUntil cancelled the running fetch');
    const error = await lastValueFrom(
      pgm.stream<{ n: number }>(slow, [], { batchSize: 100 }).pipe(
        map((row) => {
          if (row.n === 42) throw new Error('consumer failed');
          return row;
        }),
      ),
    ).catch((caught: unknown) => caught);
    assert.equal((error as Error).message, 'consumer failed');
    await idleOnServer(app, 'the downstream error closed it');
    assert.equal((await firstValueFrom(pgm.query("SELECT 'ok' AS s"))).s, 'ok');
    await pgm.close();
  });

  it('errors with a typed connection error when the session is killed between batches, never completing short', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    let received = 0;
    const started = Date.now();
    const error = await lastValueFrom(
      pgm.streamBatches<Record<string, unknown>, number>('SELECT n FROM generate_series(1, 100000) AS n', [], (rows) => {
        received += rows.length;
        return received === 1000 ? from(admin.query('SELECT pg_terminate_backend($1)', [pid])).pipe(map(() => rows.length)) : [rows.length];
      }, { batchSize: 500 }).pipe(count()),
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, `expected a ConnectionError, got ${String(error)}`);
    assert.match(error.message, /terminating connection|connection/);
    assert.ok(received < 100000, 'it did not pretend to finish');
    assert.ok(Date.now() - started < 5000);
    assert.equal((await firstValueFrom(pgm.query('SELECT 1 AS one'))).one, 1, 'the pool serves again');
    await pgm.close();
  });

  it('streamBatches waits for an async stage before fetching more and keeps memory bounded', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    global.gc?.();
    const baseline = process.memoryUsage();
    const peak = { heapUsed: 0, external: 0, arrayBuffers: 0, rss: 0 };
    let batches = 0;
    let rows = 0;
    let volume = 0;
    await lastValueFrom(
      pgm.streamBatches<{ n: number; t: string; f: number }, number>(
        "SELECT n, repeat('some text to make rows bigger ', 12) || n AS t, n::float8 / 3 AS f FROM generate_series(1, 300000) AS n",
        [],
        (batch) => {
          batches++;
          rows += batch.length;
          for (const row of batch) volume += row.t.length + 16;
          const now = process.memoryUsage();
          for (const key of ['heapUsed', 'external', 'arrayBuffers', 'rss'] as const) peak[key] = Math.max(peak[key], now[key] - baseline[key]);
          // A slow sink: 1 ms per batch of 1,000 rows.
          return timer(1).pipe(map(() => batch.length));
        },
        { batchSize: 1000 },
      ),
    );
    // Bounds a whole buffered result would break: the rows' text alone is more than twice the
    // largest bound (held whole, this result took 130 MB of heap and 140 MB of RSS).
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
    const bounds = { heapUsed: 24, external: 24, arrayBuffers: 24, rss: 48 };
    const seen = Object.entries(peak).map(([key, bytes]) => `${key} +${mb(bytes)}`).join(', ');
    assert.ok(volume > 2 * 48 * 1048576, `positive control: the rows carry ${mb(volume)}, far more than the bounds`);
    for (const [key, limit] of Object.entries(bounds)) assert.ok(peak[key as keyof typeof peak] < limit * 1048576, `${key} grew past ${limit} MB while ${mb(volume)} streamed through (${seen})`);
    assert.equal(rows, 300000);
    assert.equal(batches, 300);
    await idleOnServer(app, 'finished clean');
    await pgm.close();
  });

  it('ends the stream with a stage error and closes the cursor', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const error = await lastValueFrom(
      pgm.streamBatches('SELECT n FROM generate_series(1, 100000) AS n', [], (rows) =>
        rows[0].n === 1001 ? throwError(() => new Error('sink down')) : [rows.length], { batchSize: 1000 }),
    ).catch((caught: unknown) => caught);
    assert.equal((error as Error).message, 'sink down');
    const thrown = await lastValueFrom(
      pgm.streamBatches('SELECT n FROM generate_series(1, 100000) AS n', [], () => {
        throw new Error('stage threw');
      }),
    ).catch((caught: unknown) => caught);
    assert.equal((thrown as Error).message, 'stage threw');
    await idleOnServer(app, 'closed after stage errors');
    await waitFor(() => pgm.poolState().idle === 1, 'the lease is back');
    await pgm.close();
  });

  it('reports a server error in a later batch as a QueryError, not a short completion', async () => {
    const { pgm } = testManager();
    const seen: number[] = [];
    const error = await lastValueFrom(
      pgm.stream<{ x: number }>('SELECT 1 / (5000 - n) AS x FROM generate_series(1, 10000) AS n', [], { batchSize: 1000 }).pipe(tap((row) => seen.push(row.x))),
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof QueryError, String(error));
    assert.equal(error.reason, 'data');
    assert.ok(seen.length >= 4000 && seen.length < 5000);
    await pgm.close();
  });

  it('streams inside a transaction on the transaction’s session and snapshot', async () => {
    const { pgm } = testManager();
    const rows = await lastValueFrom(
      pgm.transaction((tx) => concat(tx.query('CREATE TEMP TABLE t_stream ON COMMIT DROP AS SELECT generate_series(1, 2500) AS n'), tx.stream<{ n: number }>('SELECT n FROM t_stream', [], { batchSize: 1000 }))).pipe(
        filter((row) => row.has('n')),
        count(),
      ),
    );
    assert.equal(rows, 2500);
    await pgm.close();
  });

  it('rejects a bad batchSize at once', () => {
    const { pgm } = testManager();
    assert.throws(() => pgm.stream('SELECT 1', [], { batchSize: 0 }), /batchSize must be a positive integer/);
    assert.throws(() => pgm.stream('SELECT 1', [], { batchSize: 2 ** 31 }), /batchSize must be a positive integer number of rows of at most 2147483647, got 2147483648/);
    assert.doesNotThrow(() => pgm.stream('SELECT 1', [], { batchSize: 2 ** 31 - 1 }));
    assert.throws(() => pgm.stream('SELECT 1', [], { batchsize: 10 } as never), /did you mean 'batchSize'/);
  });
});
