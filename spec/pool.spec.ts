import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, switchMap, toArray, NEVER, timer, map } from 'rxjs';
import { ConnectionError, PoolError, type DbEvent } from '../src/index.js';
import { expectSessions, noSessionsLeft, sessionsOf, testManager, uniqueName, useAdminClient, waitFor, watchPoolBound } from './support/database.js';
import { testPassword } from './support/secrets.js';

describe('pool', () => {
  const admin = useAdminClient();

  it('serves waiting requests in FIFO order and never leases more than its size, at any acquire', async () => {
    // One session: the grant order is the completion order.
    const { pgm, app } = testManager({ poolSize: 1 });
    const watch = watchPoolBound(pgm);
    const order: number[] = [];
    const runs = Array.from({ length: 12 }, (_, index) =>
      lastValueFrom(pgm.query('SELECT pg_sleep(0.01)')).then(() => order.push(index)),
    );
    await waitFor(async () => (await sessionsOf(admin, app)).length === 1, 'the session is open');
    assert.ok(pgm.poolState().waiting > 0, 'requests queued behind the pool');
    await Promise.all(runs);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'completed in the order requested');
    assert.equal(order.length, 12);
    watch.stop();
    assert.equal(watch.acquires, 12, 'one acquire event per request');
    assert.deepEqual(watch.violations, [], 'within its size at every acquire');
    assert.equal(watch.maxInUse, 1);
    assert.equal((await expectSessions(admin, app)).length, 1);
    await pgm.close();
  });

  it('fails a request after acquireTimeout with a typed error that reports the pool state', async () => {
    const { pgm } = testManager({ poolSize: 1, acquireTimeout: 200 });
    const holder = pgm.connection().subscribe();
    await waitFor(() => pgm.poolState().inUse === 1, 'the only session is leased');
    const started = Date.now();
    const error = await lastValueFrom(pgm.query('SELECT 1')).catch((caught: unknown) => caught);
    assert.ok(error instanceof PoolError, String(error));
    assert.equal(error.reason, 'pool_timeout');
    assert.equal(error.isRetryable, true);
    assert.deepEqual(error.pool, { size: 1, total: 1, inUse: 1, idle: 0, waiting: 1 });
    assert.match(error.message, /acquireTimeout \(200 ms\).*1 in use/);
    const waited = Date.now() - started;
    assert.ok(waited >= 195 && waited < 2000, `failed after ${waited} ms, acquireTimeout 200 ms`);
    assert.equal(pgm.poolState().waiting, 0);
    holder.unsubscribe();
    await pgm.close();
  });

  it('bounds the wait queue: past maxWaiting a request fails at once', async () => {
    const { pgm } = testManager({ poolSize: 1, maxWaiting: 2 });
    const holder = pgm.connection().subscribe();
    await waitFor(() => pgm.poolState().inUse === 1, 'the only session is leased');
    const queued = [pgm.query('SELECT 1').subscribe({ error: () => {} }), pgm.query('SELECT 1').subscribe({ error: () => {} })];
    const error = await lastValueFrom(pgm.query('SELECT 1')).catch((caught: unknown) => caught);
    assert.ok(error instanceof PoolError);
    assert.equal(error.reason, 'pool_full');
    queued.forEach((subscription) => subscription.unsubscribe());
    holder.unsubscribe();
    await pgm.close();
  });

  it('survives an idle session killed by the server: no crash, the next query succeeds', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const events: DbEvent[] = [];
    const subscription = pgm.events$.subscribe((event) => events.push(event));
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(() => pgm.poolState().total === 0, 'the dead idle session was dropped');
    const row = await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'));
    assert.notEqual(row.pid, pid);
    assert.ok(events.some((event) => event.type === 'release' && event.discarded && event.reason === 'broken'));
    assert.equal((await sessionsOf(admin, app)).length, 1);
    subscription.unsubscribe();
    await pgm.close();
  });

  it('discards a leased session that died and never hands it out again', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const error = await lastValueFrom(pgm.query('SELECT pg_terminate_backend(pg_backend_pid())')).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.reason, 'connection');
    assert.match(error.message, /terminating connection due to administrator command/);
    const row = await firstValueFrom(pgm.query("SELECT 'fine' AS s"));
    assert.equal(row.s, 'fine');
    await pgm.close();
  });

  it('rolls back a session returned mid-transaction before anyone else gets it', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const table = uniqueName('midtx');
    await admin.query(`CREATE TABLE ${table} (id int)`);
    const held = pgm.connection().pipe(
      switchMap((conn) => concat(conn.query('BEGIN'), conn.query(`INSERT INTO ${table} VALUES (1)`), NEVER)),
    ).subscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'idle in transaction'), 'the lease sits in a transaction');
    held.unsubscribe();
    const status = await firstValueFrom(pgm.query<{ in_tx: boolean }>("SELECT now() = statement_timestamp() AS in_tx"));
    assert.equal(status.in_tx, true, 'the next user is not inside the old transaction');
    assert.equal(Number((await admin.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n), 0);
    await admin.query(`DROP TABLE ${table}`);
    await pgm.close();
  });

  it('runs initStatement once on each new session and applies statementTimeout', async () => {
    const { pgm } = testManager({ poolSize: 2, initStatement: "SET search_path TO pg_catalog, public; SET work_mem TO '7MB'", statementTimeout: 1234 });
    const rows = await lastValueFrom(
      pgm.connection('default', (conn) => concat(conn.query('SHOW work_mem'), conn.query('SHOW statement_timeout'), conn.query('SHOW search_path'))).pipe(
        map((row) => row.get(0)),
        toArray(),
      ),
    );
    assert.deepEqual(rows, ['7MB', '1234ms', 'pg_catalog, public']);
    await pgm.close();
  });

  it('gives a failing initStatement to the requester as a typed error and keeps no session', async () => {
    const { pgm, app } = testManager({ initStatement: 'SELEC 1' });
    const events: DbEvent[] = [];
    const subscription = pgm.events$.subscribe((event) => events.push(event));
    const error = await lastValueFrom(pgm.query('SELECT 1')).catch((caught: unknown) => caught);
    subscription.unsubscribe();
    assert.ok(error instanceof Error && 'reason' in error && error.reason === 'syntax', String(error));
    // Positive control: the server itself parsed initStatement, so a session of this config existed.
    assert.ok('sqlState' in error && error.sqlState === '42601', `the syntax error came from the server: ${String(error)}`);
    assert.ok(!events.some((event) => event.type === 'connect'), 'a session whose initStatement failed is never announced as connected');
    await waitFor(async () => (await sessionsOf(admin, app)).length === 0, 'the session is closed');
    assert.equal(pgm.poolState().total, 0);
    await pgm.close();
  });

  it('closes idle sessions after idleTimeout and old ones after maxLifetime', async () => {
    const { pgm, app } = testManager({ poolSize: 2, idleTimeout: 100 });
    await lastValueFrom(pgm.query('SELECT 1'));
    const before = await expectSessions(admin, app);
    assert.equal(before.length, 1);
    await noSessionsLeft(admin, app, before);
    await pgm.close();
    const aged = testManager({ maxLifetime: 50, idleTimeout: 0 });
    const first = (await firstValueFrom(aged.pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.06)'))).pid;
    const second = (await firstValueFrom(aged.pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    assert.notEqual(first, second, 'a session past maxLifetime is closed when released');
    await aged.pgm.close();
  });

  it('reports a refused connection as a typed, retryable ConnectionError without the password', async () => {
    const { pgm } = testManager();
    pgm.createConn({ name: 'nowhere', host: '127.0.0.1', port: 1, password: testPassword('refused') });
    const error = await lastValueFrom(pgm.query('SELECT 1', [], { conn: 'nowhere' })).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.reason, 'connection');
    assert.equal(error.isRetryable, true);
    assert.match(error.message, /could not connect to .*@127\.0\.0\.1:1\/.*ECONNREFUSED/);
    assert.ok(!String(error.stack).includes(testPassword('refused')));
    assert.equal(pgm.poolState('nowhere').total, 0);
    await pgm.close();
  });

  it('queues a burst larger than the pool, never leases more than its size at any acquire, and serves all of it', async () => {
    const { pgm, app } = testManager({ poolSize: 3 });
    const watch = watchPoolBound(pgm);
    const results = await lastValueFrom(
      concat(...Array.from({ length: 1 }, () => timer(0))).pipe(
        switchMap(() => Promise.all(Array.from({ length: 200 }, (_, index) => firstValueFrom(pgm.query<{ n: number }>('SELECT $1::int AS n', [index]))))),
      ),
    );
    assert.deepEqual(results.map((row) => row.n), Array.from({ length: 200 }, (_, index) => index));
    watch.stop();
    assert.equal(watch.acquires, 200, 'one acquire event per query');
    assert.deepEqual(watch.violations, [], 'within its size at every acquire and connect during the burst');
    assert.equal(watch.maxInUse, 3, 'the burst drove the pool to its bound');
    assert.equal((await expectSessions(admin, app)).length, 3);
    await pgm.close();
  });
});
