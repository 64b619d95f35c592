// poolStats() and poolStats$(): a pool's figures without OpenTelemetry, checked against what the
// server shows (pg_stat_activity, MariaDB's process list).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lastValueFrom, type Subscription } from 'rxjs';
import { ConfigurationError, PoolError, type PoolStats } from '../src/index.js';
import { BACKEND_NAMES, backendIt, backendSkip, openBackend, type Backend } from './support/backends.js';
import { DATABASE_URL, expectSessions, sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';

describe('poolStats', () => {
  const admin = useAdminClient();

  it('says what the pool holds as the server sees it, and counts sessions opened and acquires', async () => {
    const { pgm, app } = testManager({ poolSize: 4 });
    assert.deepEqual(pgm.poolStats(), {
      conn: 'default', size: 4, total: 0, inUse: 0, idle: 0, waiting: 0, connecting: 0,
      connects: 0, connectFailures: 0, timeouts: 0, acquires: 0, acquireWaitMillisTotal: 0, acquireWaitMillisMax: 0, pipelined: 0,
    });
    const holders = [pgm.connection().subscribe(), pgm.connection().subscribe(), pgm.connection().subscribe()];
    await waitFor(() => pgm.poolStats().inUse === 3, 'three sessions leased');
    const sessions = await expectSessions(admin, app);
    const stats = pgm.poolStats();
    assert.equal(sessions.length, 3, 'the server shows three sessions');
    assert.deepEqual([stats.total, stats.inUse, stats.idle, stats.waiting, stats.connecting, stats.connects, stats.acquires], [3, 3, 0, 0, 0, 3, 3]);
    holders.forEach((holder) => holder.unsubscribe());
    await waitFor(() => pgm.poolStats().idle === 3, 'all three back and idle');
    assert.equal((await sessionsOf(admin, app)).length, 3, 'still open on the server, idle');
    const back = pgm.poolStats();
    assert.deepEqual([back.total, back.inUse, back.idle, back.connects], [3, 0, 3, 3]);
    // Pooled sessions serve the next leases: acquires go up, connects do not.
    await lastValueFrom(pgm.query('SELECT 1'));
    await lastValueFrom(pgm.query('SELECT 1'));
    const reused = pgm.poolStats();
    assert.deepEqual([reused.connects, reused.acquires], [3, 5]);
    assert.ok(reused.acquireWaitMillisMax >= 0 && reused.acquireWaitMillisTotal >= reused.acquireWaitMillisMax);
    await pgm.close();
  });

  it('counts waiting callers, acquire timeouts and how long granted requests waited', async () => {
    const { pgm } = testManager({ poolSize: 1, acquireTimeout: 1000 });
    let holder: Subscription | undefined = pgm.connection().subscribe();
    await waitFor(() => pgm.poolStats().inUse === 1, 'the only session leased');
    const timedOut = lastValueFrom(pgm.query('SELECT 1')).catch((error: unknown) => error);
    const granted = lastValueFrom(pgm.query('SELECT 2 AS two'));
    assert.equal(pgm.poolStats().waiting, 2);
    // Hold the session until the first request gave up, then let the second in.
    const error = await timedOut;
    assert.ok(error instanceof PoolError && error.reason === 'pool_timeout', String(error));
    assert.equal(pgm.poolStats().timeouts, 1);
    assert.equal(pgm.poolStats().waiting, 1);
    holder.unsubscribe();
    holder = undefined;
    await granted;
    const stats = pgm.poolStats();
    assert.equal(stats.timeouts, 1);
    assert.equal(stats.waiting, 0);
    assert.equal(stats.acquires, 2);
    // The second request waited at least as long as the first one's acquireTimeout (minus the clock's granularity).
    assert.ok(stats.acquireWaitMillisMax >= 990 && stats.acquireWaitMillisMax < 20_000, `waited ${stats.acquireWaitMillisMax} ms`);
    await pgm.close();
  });

  it('counts failed connects, and keeps counting across closeConn() until destroyConn()', async () => {
    const { pgm } = testManager();
    const missing = new URL(DATABASE_URL);
    missing.pathname = `/${uniqueName('no_such_db')}`;
    pgm.createConn({ name: 'missing', connectionString: missing.href, acquireTimeout: 2000 });
    const error = await lastValueFrom(pgm.query('SELECT 1', [], { conn: 'missing' })).catch((caught: unknown) => caught);
    assert.ok(error instanceof Error, String(error));
    const failed = pgm.poolStats('missing');
    assert.ok(failed.connectFailures >= 1, `failed connects: ${failed.connectFailures}`);
    assert.equal(failed.connects, 0);

    const good = uniqueName('rxpg');
    pgm.createConn({ name: 'good', connectionString: DATABASE_URL, applicationName: good });
    await lastValueFrom(pgm.query('SELECT 1', [], { conn: 'good' }));
    assert.equal(pgm.poolStats('good').connects, 1);
    assert.equal(pgm.poolStats('good').connectFailures, 0);
    await pgm.closeConn('good');
    assert.equal(pgm.poolStats('good').total, 0, 'the pool is gone');
    await lastValueFrom(pgm.query('SELECT 1', [], { conn: 'good' }));
    assert.deepEqual([pgm.poolStats('good').connects, pgm.poolStats('good').acquires], [2, 2], 'counted on across closeConn()');
    await pgm.destroyConn('good');
    pgm.createConn({ name: 'good', connectionString: DATABASE_URL, applicationName: good });
    assert.equal(pgm.poolStats('good').connects, 0, 'a config registered again starts from zero');
    assert.throws(() => pgm.poolStats('nope'), ConfigurationError);
    await pgm.close();
  });

  it('poolStats$ emits at once, then each sampled change, never the same figures twice', async () => {
    const { pgm } = testManager({ poolSize: 2 });
    const seen: PoolStats[] = [];
    const subscription = pgm.poolStats$('default', { intervalMillis: 10 }).subscribe((stats) => seen.push(stats));
    assert.equal(seen.length, 1, 'the current figures at once');
    assert.equal(seen[0].total, 0);
    const holder = pgm.connection().subscribe();
    await waitFor(() => seen.some((stats) => stats.inUse === 1), () => `an emission with the session in use (saw ${JSON.stringify(seen.map((stats) => stats.inUse))})`);
    holder.unsubscribe();
    await waitFor(() => seen.at(-1)?.idle === 1 && seen.at(-1)?.inUse === 0, 'an emission with the session back');
    const count = seen.length;
    assert.ok(count >= 3, `first, in use, back: ${count}`);
    for (let index = 1; index < seen.length; index++) assert.notDeepEqual(seen[index], seen[index - 1], `emission ${index} differs from the one before`);
    // A quiet pool: ten intervals later (at least), nothing new.
    const quietUntil = Date.now() + 100;
    await waitFor(() => Date.now() > quietUntil, 'a hundred milliseconds passed');
    assert.equal(seen.length, count, 'nothing emitted while nothing changed');
    subscription.unsubscribe();
    // It completes when its config is destroyed.
    let completed = false;
    pgm.poolStats$('default', { intervalMillis: 10 }).subscribe({ complete: () => (completed = true) });
    assert.equal(completed, false);
    await pgm.destroyConn('default');
    await waitFor(() => completed, 'poolStats$ completed after destroyConn()');
    pgm.createConn({ connectionString: DATABASE_URL });
    assert.throws(() => pgm.poolStats$('default', { every: 5 } as never), ConfigurationError);
    assert.throws(() => pgm.poolStats$('nope'), ConfigurationError);
    await pgm.close();
  });
});

for (const name of BACKEND_NAMES) {
  describe(`poolStats on ${name}`, () => {
    const backendTest = backendIt(name);
    let backend: Backend;
    if (!backendSkip(name)) {
      before(async () => {
        backend = await openBackend(name);
      });
      after(() => backend.end());
    }
    backendTest('counts the sessions the server has', async () => {
      const { db, processIds } = backend.manager({ poolSize: 3 });
      const holders = [db.connection().subscribe(), db.connection().subscribe()];
      await waitFor(() => db.poolStats().inUse === 2, 'two sessions leased');
      const stats = db.poolStats();
      assert.equal(processIds.size, 2);
      assert.equal((await backend.alive(processIds)).length, 2, 'the server has both');
      assert.deepEqual([stats.total, stats.inUse, stats.idle, stats.connects], [2, 2, 0, 2]);
      holders.forEach((holder) => holder.unsubscribe());
      await waitFor(() => db.poolStats().idle === 2, 'both back');
      await db.close();
      assert.equal(db.poolStats().total, 0);
      await waitFor(async () => (await backend.alive(processIds)).length === 0, 'both sessions closed on the server');
    });
  });
}
