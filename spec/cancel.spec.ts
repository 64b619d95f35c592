import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, from, take, timer, takeUntil, lastValueFrom, type Observable } from 'rxjs';
import { sessionsOf, testManager, uniqueName, useAdminClient, waitFor, waitForIdle } from './support/database.js';

describe('unsubscribe cancels the running statement on the server', () => {
  const admin = useAdminClient();

  it('stops a 30 s pg_sleep on the server within seconds and returns the session clean and reusable', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    const subscription = pgm.query('SELECT pg_sleep(30)').subscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active'), 'pg_sleep runs');
    const started = Date.now();
    subscription.unsubscribe();
    // The sleep would run 30 s: idle within 5 s means the server stopped it. The cancel opens a
    // connection of its own, which a loaded machine can take a few hundred ms to accept.
    await waitForIdle(admin, app, 'the server stopped the statement', 5000);
    assert.ok(Date.now() - started < 5000, `idle ${Date.now() - started} ms after the unsubscribe`);
    const after = await firstValueFrom(pgm.query<{ pid: number; status: string }>("SELECT pg_backend_pid() AS pid, 'ok' AS status"));
    assert.equal(after.pid, pid, 'the same session was reused, not replaced');
    assert.equal(after.status, 'ok');
    await pgm.close();
  });

  it('take(1) on a long result cancels the rest', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    // The server sends the 1,000 rows, then sleeps 30 s before the cast could fail.
    const row = await firstValueFrom(
      pgm.query<{ n: number }>('SELECT n FROM generate_series(1, 1000) AS n UNION ALL SELECT pg_sleep(30)::text::int').pipe(take(1)),
    );
    assert.equal(row.n, 1, 'the statement ran and its first row came');
    // The sleep after the rows would run 30 s.
    await waitForIdle(admin, app, 'nothing runs on the server', 5000);
    assert.equal((await firstValueFrom(pgm.query<{ ok: string }>("SELECT 'ok' AS ok"))).ok, 'ok');
    await pgm.close();
  });

  it('a cancel never hits the next statement on the same session (and enough rounds really were cancelled on the server)', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    // The statement counts on the server when it starts and when it finishes its sleep; sequences
    // are not transactional, so a statement the cancel stopped leaves a start without a finish.
    const name = uniqueName('cancel_rounds');
    await admin.query(`CREATE SEQUENCE ${name}_started; CREATE SEQUENCE ${name}_finished;
      CREATE FUNCTION ${name}(ms float8) RETURNS int LANGUAGE plpgsql AS $$
      BEGIN PERFORM nextval('${name}_started'); PERFORM pg_sleep(ms / 1000); PERFORM nextval('${name}_finished'); RETURN 1; END $$`);
    const counted = async (sequence: string): Promise<number> => {
      const { rows } = await admin.query<{ n: string }>(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM ${sequence}`);
      return Number(rows[0].n);
    };
    const rounds = 50;
    let unsubscribed = 0;
    let long = 0;
    let pid: number | undefined;
    for (let index = 0; index < rounds; index++) {
      // Sleeps of 2, 5 and 20 ms against unsubscribes after 0 to 3 ms: cancels land before,
      // during and around the end of the statement. Every fifth round sleeps 30 s and is
      // unsubscribed once it runs on the server: only a cancel that reached the server ends it,
      // however long the cancel takes on a loaded machine (where the short sleeps are mostly
      // over before their cancel arrives).
      const isLong = index % 5 === 4;
      let cut: Observable<unknown> = timer(index % 4);
      if (isLong) {
        long++;
        const startedBefore = await counted(`${name}_started`);
        cut = from(waitFor(async () => (await counted(`${name}_started`)) > startedBefore, `round ${index}: the 30 s sleep runs`));
      }
      const sleep = isLong ? 30_000 : [2, 5, 20][index % 3];
      const outcome = await lastValueFrom(pgm.query(`SELECT ${name}($1) AS done`, [sleep]).pipe(takeUntil(cut)), { defaultValue: 'unsubscribed' });
      if (outcome === 'unsubscribed') unsubscribed++;
      else assert.ok(!isLong, `round ${index}: a 30 s sleep completed before its unsubscribe`);
      const row = await firstValueFrom(pgm.query<{ seven: number; pid: number }>('SELECT pg_sleep(0.005), 7 AS seven, pg_backend_pid() AS pid'));
      assert.equal(row.seven, 7, `round ${index}: the statement after a cancel completed`);
      // A session whose statement outlived the cancel grace would have been replaced.
      pid ??= row.pid;
      assert.equal(row.pid, pid, `round ${index}: the same session, not one replaced after a cancel that did not stop its statement`);
    }
    const started = await counted(`${name}_started`);
    const finished = await counted(`${name}_finished`);
    await admin.query(`DROP FUNCTION ${name}(float8); DROP SEQUENCE ${name}_started; DROP SEQUENCE ${name}_finished`);
    assert.ok(unsubscribed >= rounds / 2, `most rounds were unsubscribed before they ended (${unsubscribed} of ${rounds})`);
    // Each 30 s sleep that started and never finished was stopped by a cancel; a short one
    // stopped mid-sleep too is a bonus that depends on the machine's speed.
    assert.ok(started - finished >= long, `the server stopped statements mid-sleep in ${started - finished} rounds, at least the ${long} long ones (${started} started, ${finished} finished)`);
    const raced = finished - (rounds - unsubscribed);
    assert.ok(raced >= 1, `some unsubscribes came as the statement finished anyway (${raced} rounds): the race the title is about`);
    await pgm.close();
  });

  it('destroys a session whose statement ignores the cancel past the grace period', async () => {
    const { pgm, app } = testManager({ poolSize: 1 }, { cancelGraceMillis: 200 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    // A function that swallows query_canceled a few times: the cancel does not stop it. Not a
    // temporary one: a lease's temporary objects are dropped when it comes back.
    const stubborn = uniqueName('rx_stubborn');
    await lastValueFrom(
      pgm.query(`CREATE FUNCTION ${stubborn}() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          FOR i IN 1..5 LOOP
            BEGIN PERFORM pg_sleep(2); EXCEPTION WHEN query_canceled THEN NULL; END;
          END LOOP;
        END $$`),
      { defaultValue: null },
    );
    const subscription = pgm.query(`SELECT ${stubborn}()`).subscribe({ error: () => {} });
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active'), 'the stubborn function runs');
    subscription.unsubscribe();
    // The function would end by itself after 10 s, and give its session back to the pool.
    await waitFor(() => pgm.poolState().total === 0, 'the stubborn session was discarded after the grace period', 5000);
    const row = await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'));
    assert.notEqual(row.pid, pid, 'a new session serves the next query');
    assert.equal(pgm.poolState().total, 1);
    // The server notices the closed socket only when the function next writes; end it now.
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await admin.query(`DROP FUNCTION ${stubborn}()`);
    await pgm.close();
  });
});
