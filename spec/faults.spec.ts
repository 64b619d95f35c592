// Faults between rxpg and the server, through a loopback proxy: cut connections, a stalled
// network, refused connections. Each test checks what the caller sees and the pool afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { count, firstValueFrom, lastValueFrom, tap } from 'rxjs';
import { ConnectionError, PgManager, PoolError, RxpgError, StatementTimeoutError } from '../src/index.js';
import { waitFor } from './support/database.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

describe('faults through a proxy', () => {
  let proxy: TcpProxy;
  before(async () => {
    proxy = await TcpProxy.start(databaseTarget());
  });
  after(() => proxy.stop());

  const manager = (options: { acquireTimeout?: number; poolSize?: number; connectTimeout?: number } = {}) => {
    const pgm = new PgManager({ cancelGraceMillis: 300, closeGraceMillis: 300, clientTimeoutGraceMillis: 100 });
    pgm.createConn({
      ...throughProxy(proxy),
      connectTimeout: 1,
      poolSize: 2,
      ...options,
    });
    return pgm;
  };

  it('a cut mid-query gives a typed ConnectionError at once, drops the session and serves the next query', async () => {
    proxy.thaw();
    proxy.refuse(false);
    // Connecting is not what this test is about: at a load average of 13 a connect through the
    // proxy took more than 1 s, and the query never ran.
    const pgm = manager({ connectTimeout: 5 });
    const running = lastValueFrom(pgm.query('SELECT pg_sleep(5)')).catch((error: unknown) => error);
    await waitFor(() => pgm.poolState().inUse === 1, 'the query runs');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cutAt = Date.now();
    proxy.cut();
    const error = await running;
    assert.ok(error instanceof ConnectionError, String(error));
    assert.ok(Date.now() - cutAt < 1000);
    await waitFor(() => pgm.poolState().total === 0, 'the broken session is gone');
    assert.equal((await firstValueFrom(pgm.query('SELECT 1 AS one'))).one, 1);
    await pgm.close();
  });

  it('a cut mid-stream errors, never completes short', async () => {
    const pgm = manager();
    let rows = 0;
    const error = await lastValueFrom(
      pgm.stream('SELECT n FROM generate_series(1, 1000000) AS n', [], { batchSize: 1000 }).pipe(
        tap(() => {
          if (++rows === 5000) proxy.cut();
        }),
        count(),
      ),
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, `expected an error, got ${String(error)}`);
    assert.ok(rows < 1_000_000);
    assert.equal((await firstValueFrom(pgm.query('SELECT 2 AS two'))).two, 2);
    await pgm.close();
  });

  it('a stalled network is a typed timeout, never a hang, and the session is not pooled busy', async () => {
    const pgm = manager({ poolSize: 1 });
    await lastValueFrom(pgm.query('SELECT 1'));
    proxy.freeze();
    const started = Date.now();
    const error = await lastValueFrom(pgm.query('SELECT 1', [], { timeout: 300 })).catch((caught: unknown) => caught);
    assert.ok(error instanceof StatementTimeoutError && error.limit === 'client', String(error));
    assert.ok(Date.now() - started < 2000);
    await waitFor(() => pgm.poolState().total === 0, 'the stalled session was destroyed', 3000);
    proxy.thaw();
    assert.equal((await firstValueFrom(pgm.query('SELECT 3 AS three'))).three, 3);
    await pgm.close();
  });

  it('refused connections give a typed error within acquireTimeout, without a busy loop', async () => {
    proxy.cut();
    proxy.refuse(true);
    const pgm = manager({ acquireTimeout: 1500 });
    const acceptedBefore = proxy.accepted;
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => lastValueFrom(pgm.query('SELECT 1')).catch((error: unknown) => error)),
    );
    // acquireTimeout is 1.5 s; 3 s more allows for a loaded machine and still tells a hang apart.
    assert.ok(Date.now() - started < 4500, 'every caller heard within acquireTimeout (and a loaded machine’s margin)');
    for (const result of results) assert.ok(result instanceof ConnectionError || result instanceof PoolError, String(result));
    assert.ok(results.every((result) => result instanceof RxpgError));
    assert.ok(proxy.accepted - acceptedBefore <= 10, `${proxy.accepted - acceptedBefore} connection attempts for 5 callers: no busy loop`);
    // A queue of 200 callers against a refused server: attempts back off instead of hammering it.
    const acceptedBeforeBurst = proxy.accepted;
    const burstStarted = Date.now();
    const burst = await Promise.all(Array.from({ length: 200 }, () => lastValueFrom(pgm.query('SELECT 1')).catch((error: unknown) => error)));
    assert.ok(burst.every((result) => result instanceof RxpgError), 'every caller got a typed error');
    assert.ok(Date.now() - burstStarted < 4500, 'within acquireTimeout (and a loaded machine’s margin)');
    assert.ok(proxy.accepted - acceptedBeforeBurst <= 12, `${proxy.accepted - acceptedBeforeBurst} attempts for 200 callers`);
    const timedOut = burst.find((result) => result instanceof PoolError);
    assert.ok(timedOut instanceof PoolError && /the last connect failed/.test(timedOut.message), 'a timeout says why');
    proxy.refuse(false);
    await waitFor(async () => (await firstValueFrom(pgm.query<{ four: number }>('SELECT 4 AS four')).then((row) => row.four === 4, () => false)), 'served once the server accepts again', 5000);
    await pgm.close();
  });

  it('a connection that dies mid-message (after N bytes) errors, never completes short', async () => {
    proxy.thaw();
    proxy.refuse(false);
    const pgm = manager();
    await lastValueFrom(pgm.query('SELECT 1'));
    proxy.cutAfterBytes(20_000);
    const error = await lastValueFrom(pgm.query('SELECT n, repeat($1, 50) AS pad FROM generate_series(1, 10000) AS n', ['x']).pipe(count())).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, `expected an error, got ${String(error)}`);
    proxy.thaw();
    assert.equal((await firstValueFrom(pgm.query('SELECT 5 AS five'))).five, 5);
    await pgm.close();
  });

  it('a slow network delays but never corrupts, and a timeout still fires on time', async () => {
    const pgm = manager({ poolSize: 1 });
    await lastValueFrom(pgm.query('SELECT 1'));
    proxy.delay(30);
    const rows = await lastValueFrom(pgm.query<{ n: number }>('SELECT n FROM generate_series(1, 2000) AS n').pipe(count()));
    assert.equal(rows, 2000);
    // The answer comes 1.5 s late: only the client's timer (200 ms + the 100 ms grace) can end it sooner.
    proxy.delay(1500);
    const started = Date.now();
    const error = await lastValueFrom(pgm.query('SELECT 1', [], { timeout: 200 })).catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    assert.ok(error instanceof StatementTimeoutError, String(error));
    assert.equal(error.limit, 'client');
    assert.ok(elapsed >= 195 && elapsed < 1200, `fired after ${elapsed} ms: not before the 200 ms limit, and well before the late answer`);
    assert.ok(error.elapsedMillis >= 195 && error.elapsedMillis < 1200, `the error says ${error.elapsedMillis} ms`);
    proxy.thaw();
    await pgm.close();
  });

  it('a cut while COMMIT runs says the outcome is unknown, never rolled back', async () => {
    const admin = manager();
    const table = `commit_cut_${process.pid}_${Date.now()}`;
    // A deferred constraint trigger makes COMMIT itself take a second, long enough to cut it.
    await lastValueFrom(admin.query(`CREATE TABLE ${table} (id int)`), { defaultValue: null });
    await lastValueFrom(admin.query(`CREATE FUNCTION ${table}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$`), { defaultValue: null });
    await lastValueFrom(admin.query(`CREATE CONSTRAINT TRIGGER ${table}_tr AFTER INSERT ON ${table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${table}_fn()`), { defaultValue: null });
    await admin.close();
    const pgm = manager({ poolSize: 1 });
    const seen: string[] = [];
    pgm.events$.subscribe((event) => {
      if (event.type === 'query') seen.push(event.sql);
    });
    const outcome = lastValueFrom(pgm.transaction((tx) => tx.query(`INSERT INTO ${table} VALUES (1)`)), { defaultValue: null }).catch((error: unknown) => error);
    await waitFor(() => seen.some((sql) => sql.startsWith('INSERT')), 'the INSERT is done and COMMIT goes out');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proxy.cut();
    const error = await outcome;
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.reason, 'outcome_unknown');
    const cleanup = manager();
    await lastValueFrom(cleanup.query(`DROP TABLE ${table}; DROP FUNCTION ${table}_fn()`), { defaultValue: null });
    await cleanup.close();
    await pgm.close();
  });
});
