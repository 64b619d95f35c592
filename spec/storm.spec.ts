import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, Subscription } from 'rxjs';
import { noSessionsLeft, sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';

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

  it('keeps the pool within its size, leaves nothing idle in transaction and still serves', async () => {
    const seed = Number(process.env.STORM_SEED ?? 20261124);
    const next = random(seed);
    const poolSize = 4;
    const { pgm, app } = testManager({ poolSize, isolationLevel: 'read_committed' });
    const work = [
      () => pgm.query('SELECT pg_sleep($1::float8 / 1000)', [Math.floor(next() * 20)]),
      () => pgm.query('SELECT n FROM generate_series(1, 5000) AS n'),
      () => pgm.transaction((tx) => concat(tx.query(`INSERT INTO ${table} (note) VALUES ('tx')`), tx.query('SELECT pg_sleep(0.005)'))),
      () => pgm.cursor((curs) => concat(curs.execute(`INSERT INTO ${table} (note) VALUES ('cursor')`), curs.execute('SELECT pg_sleep(0.003)'))),
      () => pgm.transaction((tx) => tx.savepoint((sp) => sp.query('SELECT pg_sleep(0.002)'))),
    ];
    let maxSessions = 0;
    const live = new Set<Subscription>();
    for (let index = 0; index < 600; index++) {
      const subscription = work[Math.floor(next() * work.length)]().subscribe({ error: () => {} });
      live.add(subscription);
      const delay = Math.floor(next() * 4);
      setTimeout(() => {
        subscription.unsubscribe();
        live.delete(subscription);
      }, delay);
      if (index % 50 === 0) {
        maxSessions = Math.max(maxSessions, (await sessionsOf(admin, app)).length);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    await waitFor(() => live.size === 0, 'every subscription was unsubscribed', 10_000);
    await waitFor(() => pgm.poolState().inUse === 0 && pgm.poolState().waiting === 0, 'every lease is back', 10_000);
    const sessions = await sessionsOf(admin, app);
    assert.ok(sessions.length <= poolSize, `at most ${poolSize} sessions, saw ${sessions.length}`);
    assert.ok(maxSessions <= poolSize, `never more than ${poolSize} sessions during the storm, saw ${maxSessions}`);
    assert.deepEqual(sessions.filter((session) => session.state !== 'idle'), [], 'all idle, none in transaction');
    assert.ok(pgm.poolState().total <= poolSize);
    const rows = await Promise.all(Array.from({ length: 8 }, (_, n) => firstValueFrom(pgm.query<{ n: number }>('SELECT $1::int AS n', [n]))));
    assert.deepEqual(rows.map((row) => row.n), [0, 1, 2, 3, 4, 5, 6, 7]);
    const committed = await lastValueFrom(pgm.transaction((tx) => tx.query<{ c: string }>(`SELECT count(*) AS c FROM ${table}`)));
    assert.ok(Number(committed.c) >= 0);
    await pgm.close();
    await noSessionsLeft(admin, app);
  });
});
