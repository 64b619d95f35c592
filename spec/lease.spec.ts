import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, switchMap, take, toArray, throwError, Subject, takeUntil } from 'rxjs';
import { RxpgError, type Connection, type DbEvent } from '../src/index.js';
import { expectSessions, noSessionsLeft, testManager, useAdminClient, waitFor } from './support/database.js';

describe('connection(): a pool lease as an RxJS resource', () => {
  const admin = useAdminClient();

  it('emits a Connection and holds the lease until unsubscribed', async () => {
    const { pgm } = testManager({ poolSize: 2 });
    const pid = await firstValueFrom(
      pgm.connection().pipe(
        switchMap((conn) => conn.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')),
        take(1),
      ),
    );
    assert.equal(typeof pid.pid, 'number');
    // take(1) unsubscribed while the statement was finishing: the lease comes back once it has.
    await waitFor(() => pgm.poolState().idle === 1, 'the lease came back');
    assert.deepEqual(pgm.poolState(), { size: 2, total: 1, inUse: 0, idle: 1, waiting: 0 });
    await pgm.close();
  });

  it('with a scope function: one session for the scope, released on complete', async () => {
    const { pgm } = testManager();
    const pids = await lastValueFrom(
      pgm.connection('default', (conn) =>
        concat(conn.query('SELECT pg_backend_pid() AS pid'), conn.query('SELECT pg_backend_pid() AS pid')),
      ).pipe(toArray()),
    );
    assert.equal(pids[0].pid, pids[1].pid, 'both statements ran on the one leased session');
    assert.equal(pgm.poolState().inUse, 0);
    await pgm.close();
  });

  it('releases on error from inside the scope', async () => {
    const { pgm } = testManager();
    const error = await lastValueFrom(pgm.connection('default', () => throwError(() => new Error('boom')))).catch((caught: Error) => caught);
    assert.equal(error.message, 'boom');
    assert.equal(pgm.poolState().inUse, 0);
    await pgm.close();
  });

  it('refuses a connection used after its lease ended', async () => {
    const { pgm } = testManager();
    let kept: Connection | undefined;
    await lastValueFrom(pgm.connection('default', (conn) => {
      kept = conn;
      return conn.query('SELECT 1');
    }));
    assert.ok(kept);
    const error = await lastValueFrom(kept.query('SELECT 1')).catch((caught: unknown) => caught);
    assert.ok(error instanceof RxpgError);
    assert.equal(error.code, 'RXPG_LEASE');
    await pgm.close();
  });

  it('refuses a Connection taken with firstValueFrom once its lease is back, on a new session and on a pooled one', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    // First: the pool must open a session, so the lease is granted later (not at once).
    const fresh = await firstValueFrom(pgm.connection());
    // Then: an idle session, granted at once.
    const pooled = await firstValueFrom(pgm.connection());
    assert.equal(fresh.processId, pooled.processId, 'the one session of the pool, leased twice');
    for (const conn of [fresh, pooled]) {
      const error = await lastValueFrom(conn.query('SELECT 1')).catch((caught: unknown) => caught);
      assert.ok(error instanceof RxpgError && error.code === 'RXPG_LEASE', `used after firstValueFrom returned its lease: ${String(error)}`);
    }
    assert.deepEqual(pgm.poolState(), { size: 1, total: 1, inUse: 0, idle: 1, waiting: 0 });
    await pgm.close();
  });

  it('an unsubscribe while the lease is still being acquired leaks nothing', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    // Hold the only session so the next request queues.
    const holder = pgm.connection().subscribe();
    await waitFor(() => pgm.poolState().inUse === 1, 'the holder has its lease');
    const held = await expectSessions(admin, app);
    const waiting = pgm.connection().subscribe();
    await waitFor(() => pgm.poolState().waiting === 1, 'the second request waits');
    waiting.unsubscribe();
    assert.equal(pgm.poolState().waiting, 0, 'the request left the queue');
    holder.unsubscribe();
    await waitFor(() => pgm.poolState().idle === 1, 'the holder lease is back');
    // And one that is unsubscribed while its session is still connecting.
    const { pgm: fresh, app: freshApp } = testManager({ poolSize: 1 });
    const early = fresh.query('SELECT 1').subscribe();
    early.unsubscribe();
    await waitFor(() => fresh.poolState().total === 1 && fresh.poolState().idle === 1, 'the late session is pooled, not leaked');
    const row = await firstValueFrom(fresh.query('SELECT 2 AS two'));
    assert.equal(row.two, 2);
    const freshSessions = await expectSessions(admin, freshApp);
    assert.equal(freshSessions.length, 1);
    await fresh.close();
    await pgm.close();
    await noSessionsLeft(admin, app, held);
    await noSessionsLeft(admin, freshApp, freshSessions);
  });

  it('an unsubscribe right after the lease was granted leaks nothing (20 rounds, same session each time)', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    await waitFor(() => pgm.poolState().idle === 1, 'the session is idle');
    const events: DbEvent[] = [];
    const watching = pgm.events$.subscribe((event) => events.push(event));
    let grantedBeforeUnsubscribe = 0;
    for (let index = 0; index < 20; index++) {
      const stop = new Subject<void>();
      const acquiresBefore = events.filter((event) => event.type === 'acquire').length;
      const subscription = pgm.query('SELECT pg_sleep(0.01)').pipe(takeUntil(stop)).subscribe();
      // The idle session is granted synchronously on subscribe: the unsubscribe lands after it.
      if (events.filter((event) => event.type === 'acquire').length === acquiresBefore + 1) grantedBeforeUnsubscribe++;
      stop.next();
      subscription.unsubscribe();
      await waitFor(() => pgm.poolState().idle === 1, `round ${index}: the one session is back and idle`);
    }
    watching.unsubscribe();
    assert.equal(grantedBeforeUnsubscribe, 20, 'every round held a granted lease when it unsubscribed');
    const releases = events.filter((event) => event.type === 'release');
    assert.equal(releases.length, 20, 'every lease came back');
    assert.deepEqual(releases.filter((event) => event.type === 'release' && (event.discarded || event.processId !== pid)), [], 'pooled again, the same session');
    assert.deepEqual(pgm.poolState(), { size: 1, total: 1, inUse: 0, idle: 1, waiting: 0 });
    const row = await firstValueFrom(pgm.query<{ pid: number; three: number }>('SELECT pg_backend_pid() AS pid, 3 AS three'));
    assert.deepEqual([row.pid, row.three], [pid, 3]);
    await pgm.close();
  });
});
