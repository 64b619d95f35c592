import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, first, lastValueFrom, throwError, toArray, NEVER } from 'rxjs';
import { expectSessions, sessionsOf, testManager, uniqueName, useAdminClient, waitFor, waitForIdle } from './support/database.js';

describe('cursor(): PgManager’s `with pgm.cursor() as curs`', () => {
  let table: string;
  const admin = useAdminClient({
    setup: async () => {
      table = uniqueName('curs');
      await admin.query(`CREATE TABLE ${table} (id int)`);
    },
    teardown: async () => {
      await admin.query(`DROP TABLE ${table}`);
    },
  });
  const count = async (): Promise<number> => Number((await admin.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  it('runs the seed’s basic usage: execute, then the first row as a dict', async () => {
    const { pgm } = testManager({ isolationLevel: 'autocommit' });
    const row = await lastValueFrom(pgm.cursor((curs) => curs.execute('SELECT now() AS now')).pipe(first()));
    assert.ok(row.now instanceof Date);
    assert.deepEqual(Object.keys(row.toObject()), ['now']);
    await pgm.close();
  });

  it('under autocommit each statement commits on its own, even if the scope errors later', async () => {
    const { pgm } = testManager({ isolationLevel: 'autocommit' });
    await lastValueFrom(
      pgm.cursor((curs) => concat(curs.execute(`INSERT INTO ${table} VALUES (1)`), throwError(() => new Error('later')))),
    ).catch(() => null);
    assert.equal(await count(), 1);
    await admin.query(`DELETE FROM ${table}`);
    await pgm.close();
  });

  it('outside autocommit the scope is a transaction at the config’s level: rolled back on error', async () => {
    const { pgm } = testManager({ isolationLevel: 'serializable' });
    const levels = await lastValueFrom(pgm.cursor((curs) => curs.execute('SHOW transaction_isolation')).pipe(toArray()));
    assert.equal(levels[0].get(0), 'serializable');
    await lastValueFrom(
      pgm.cursor((curs) => concat(curs.execute(`INSERT INTO ${table} VALUES (2)`), throwError(() => new Error('undo')))),
    ).catch(() => null);
    assert.equal(await count(), 0);
    await lastValueFrom(pgm.cursor('default', (curs) => curs.execute(`INSERT INTO ${table} VALUES (3)`)), { defaultValue: null });
    assert.equal(await count(), 1);
    await admin.query(`DELETE FROM ${table}`);
    await pgm.close();
  });

  it('rolls back and returns the lease when unsubscribed', async () => {
    const { pgm, app } = testManager({ isolationLevel: 'read_committed', poolSize: 1 });
    const subscription = pgm.cursor((curs) => concat(curs.execute(`INSERT INTO ${table} VALUES (4)`), NEVER)).subscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'idle in transaction'), 'the scope is open');
    subscription.unsubscribe();
    await waitForIdle(admin, app, 'rolled back');
    assert.equal(await count(), 0);
    assert.equal(pgm.poolState().idle, 1);
    await pgm.close();
  });

  it('under autocommit emits rows as they come, while the statement still runs, and unsubscribing ends the scope early', async () => {
    const { pgm, app } = testManager({ isolationLevel: 'autocommit', poolSize: 1 });
    const rows: number[] = [];
    // 5,000 rows (more than the server's 8 kB send buffer holds, so it sends them before the
    // statement ends), then a 30 s sleep before the statement could end.
    const subscription = pgm
      .cursor((curs) => curs.execute<{ n: number }>('SELECT n FROM generate_series(1, 5000) AS n UNION ALL SELECT pg_sleep(30)::text::int'))
      .subscribe({ next: (row) => rows.push(row.n), error: () => {} });
    await waitFor(() => rows.length >= 2, 'the first rows arrived');
    const running = await expectSessions(admin, app);
    assert.ok(running.some((session) => session.state === 'active' && /pg_sleep/.test(session.query)), `the rows came while the statement still ran: ${JSON.stringify(running)}`);
    assert.deepEqual(rows.slice(0, 2), [1, 2]);
    subscription.unsubscribe();
    await waitForIdle(admin, app, 'the unsubscribe stopped the statement');
    await waitFor(() => pgm.poolState().idle === 1, 'the lease is back');
    await pgm.close();
  });
});
