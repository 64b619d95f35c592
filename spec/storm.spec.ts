import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, type Observable, type Subscription } from 'rxjs';
import { expectSessions, noSessionsLeft, testManager, uniqueName, useAdminClient, waitFor, watchPoolBound } from './support/database.js';

// A small deterministic generator, so a failing storm can be replayed.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
}

describe('storm: 600 random unsubscribes over queries, transactions and cursor scopes', () => {
  let table: string;
  const admin = useAdminClient({
    setup: async () => {
      table = uniqueName('storm');
      await admin.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, note text)`);
    },
    teardown: async () => {
      await admin.query(`DROP TABLE ${table}`);
    },
  });

  it('keeps the pool within its size at every acquire, commits what completed, leaves nothing idle in transaction and still serves', async () => {
    const seed = Number(process.env.STORM_SEED ?? 20261124);
    const next = random(seed);
    const poolSize = 4;
    const { pgm, app } = testManager({ poolSize, isolationLevel: 'read_committed' });
    const watch = watchPoolBound(pgm);
    const work: { run: () => Observable<unknown>; inserts: boolean }[] = [
      { run: () => pgm.query('SELECT pg_sleep($1::float8 / 1000)', [Math.floor(next() * 20)]), inserts: false },
      { run: () => pgm.query('SELECT n FROM generate_series(1, 5000) AS n'), inserts: false },
      { run: () => pgm.transaction((tx) => concat(tx.query(`INSERT INTO ${table} (note) VALUES ('tx')`), tx.query('SELECT pg_sleep(0.005)'))), inserts: true },
      { run: () => pgm.cursor((curs) => concat(curs.execute(`INSERT INTO ${table} (note) VALUES ('cursor')`), curs.execute('SELECT pg_sleep(0.003)'))), inserts: true },
      { run: () => pgm.transaction((tx) => tx.savepoint((sp) => sp.query('SELECT pg_sleep(0.002)'))), inserts: false },
    ];
    const live = new Set<Subscription>();
    let startedInserts = 0;
    let completedInserts = 0;
    let cutShort = 0;
    // Work that is never cut: the positive control that completed inserts are checked below. A
    // fixed 40 ms was not one: under load none of 236 inserting scopes finished within it.
    const uncut: { inserts: boolean; outcome?: 'complete' | 'error' }[] = [];
    for (let index = 0; index < 600; index++) {
      const item = work[Math.floor(next() * work.length)];
      let ended = false;
      if (item.inserts) startedInserts++;
      // Most are cut within 4 ms; one in ten gets 40 ms (on an idle machine long enough to reach
      // COMMIT or finish); one in ten runs to its end.
      const roll = next();
      const record: (typeof uncut)[number] | undefined = roll < 0.1 ? { inserts: item.inserts } : undefined;
      if (record) uncut.push(record);
      const subscription = item.run().subscribe({
        complete: () => {
          ended = true;
          if (item.inserts) completedInserts++;
          if (record) record.outcome = 'complete';
        },
        error: () => {
          ended = true;
          if (record) record.outcome = 'error';
        },
      });
      live.add(subscription);
      const end = () => {
        if (!ended) cutShort++;
        subscription.unsubscribe();
        live.delete(subscription);
      };
      if (record) {
        subscription.add(() => live.delete(subscription));
      } else {
        setTimeout(end, roll < 0.2 ? 40 : Math.floor(next() * 4));
      }
      // Pacing: a queue kept short, so most requests are granted and cut mid-flight (in BEGIN,
      // a statement, a cursor, COMMIT) rather than all cut while still waiting for a lease.
      while (pgm.poolState().waiting >= 2) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitFor(() => live.size === 0, 'every subscription was unsubscribed', 10_000);
    await waitFor(() => pgm.poolState().inUse === 0 && pgm.poolState().waiting === 0, 'every lease is back', 10_000);
    // How many of the 600 are granted before their cut depends on the machine's load (206-222 on an
    // idle machine and 182 under CI's load when none ran uncut; 293-355 at a load average of 4-9
    // with the uncut ones): a hundred grants is plenty to check the bound.
    assert.ok(watch.acquires >= 100, `the storm leased sessions (${watch.acquires} acquire events)`);
    assert.deepEqual(watch.violations, [], 'the pool stayed within its size at every acquire and connect');
    assert.equal(watch.maxInUse, poolSize, `the storm drove the pool to its bound of ${poolSize} (max in use at an acquire: ${watch.maxInUse})`);
    assert.ok(cutShort >= 200, `the storm cut work short (${cutShort} of 600 unsubscribed before they ended)`);
    const sessions = await expectSessions(admin, app);
    assert.ok(sessions.length <= poolSize, `at most ${poolSize} sessions, saw ${sessions.length}`);
    assert.deepEqual(sessions.filter((session) => session.state !== 'idle'), [], 'all idle, none in transaction');
    assert.ok(pgm.poolState().total <= poolSize);
    const rows = await Promise.all(Array.from({ length: 8 }, (_, n) => firstValueFrom(pgm.query<{ n: number }>('SELECT $1::int AS n', [n]))));
    assert.deepEqual(rows.map((row) => row.n), [0, 1, 2, 3, 4, 5, 6, 7]);
    // Every insert whose scope completed committed; none ran twice. (One cut while its COMMIT
    // was on the wire may have committed too, so the count lies between the two.)
    const committed = Number((await lastValueFrom(pgm.transaction((tx) => tx.query<{ c: string }>(`SELECT count(*) AS c FROM ${table}`)))).c);
    const uncutInserts = uncut.filter((record) => record.inserts);
    assert.ok(uncutInserts.length >= 5, `some inserting scopes ran uncut (${uncutInserts.length})`);
    assert.deepEqual(uncut.filter((record) => record.outcome !== 'complete'), [], 'every scope left uncut completed');
    assert.ok(completedInserts >= uncutInserts.length, `inserting scopes completed (${completedInserts} of ${startedInserts}, ${uncutInserts.length} of them uncut)`);
    assert.ok(committed >= completedInserts && committed <= startedInserts, `${committed} rows for ${completedInserts} completed and ${startedInserts} started inserts`);
    assert.deepEqual(watch.violations, [], 'and within its size while serving after the storm');
    watch.stop();
    await pgm.close();
    await noSessionsLeft(admin, app, sessions);
  });
});
