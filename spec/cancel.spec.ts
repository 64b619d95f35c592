import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, take, timer, takeUntil, lastValueFrom } from 'rxjs';
import { sessionsOf, testManager, useAdminClient, waitFor } from './support/database.js';

describe('unsubscribe cancels the running statement on the server', () => {
  const admin = useAdminClient();

  it('stops pg_sleep on the server and returns the session clean and reusable', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    const subscription = pgm.query('SELECT pg_sleep(30)').subscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active'), 'pg_sleep runs');
    const started = Date.now();
    subscription.unsubscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).every((session) => session.state === 'idle'), 'the server stopped the statement', 1000);
    assert.ok(Date.now() - started < 1000);
    const after = await firstValueFrom(pgm.query<{ pid: number; status: string }>("SELECT pg_backend_pid() AS pid, 'ok' AS status"));
    assert.equal(after.pid, pid, 'the same session was reused, not replaced');
    assert.equal(after.status, 'ok');
    await pgm.close();
  });

  it('take(1) on a long result cancels the rest', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const row = await firstValueFrom(
      pgm.query<{ n: number }>('SELECT n FROM generate_series(1, 1000) AS n UNION ALL SELECT pg_sleep(30)::text::int').pipe(take(1)),
    ).catch(() => undefined);
    // Either the first row came or the cast failed fast; either way the session must be idle soon.
    void row;
    await waitFor(async () => (await sessionsOf(admin, app)).every((session) => session.state === 'idle'), 'nothing runs on the server', 2000);
    await pgm.close();
  });

  it('a cancel never hits the next statement on the same session', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    for (let index = 0; index < 20; index++) {
      await lastValueFrom(pgm.query('SELECT pg_sleep(0.002)').pipe(takeUntil(timer(index % 4))), { defaultValue: null }).catch(() => null);
      const row = await firstValueFrom(concat(pgm.query('SELECT pg_sleep(0.005), 7 AS seven')));
      assert.equal(row.seven, 7, `round ${index}: the statement after a cancel completed`);
    }
    await pgm.close();
  });

  it('destroys a session whose statement ignores the cancel past the grace period', async () => {
    const { pgm, app } = testManager({ poolSize: 1 }, { cancelGraceMillis: 200 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    // A function that swallows query_canceled a few times: the cancel does not stop it.
    await lastValueFrom(
      pgm.query(`CREATE OR REPLACE FUNCTION pg_temp.stubborn() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          FOR i IN 1..5 LOOP
            BEGIN PERFORM pg_sleep(2); EXCEPTION WHEN query_canceled THEN NULL; END;
          END LOOP;
        END $$`),
      { defaultValue: null },
    );
    const subscription = pgm.query('SELECT pg_temp.stubborn()').subscribe({ error: () => {} });
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active'), 'the stubborn function runs');
    subscription.unsubscribe();
    await waitFor(() => pgm.poolState().total === 0, 'the stubborn session was discarded after the grace period', 2000);
    const row = await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'));
    assert.notEqual(row.pid, pid, 'a new session serves the next query');
    assert.equal(pgm.poolState().total, 1);
    // The server notices the closed socket only when the function next writes; end it now.
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await pgm.close();
  });
});
