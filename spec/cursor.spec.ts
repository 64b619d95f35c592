import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, first, lastValueFrom, take, throwError, toArray, NEVER } from 'rxjs';
import { sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';

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
    await waitFor(async () => (await sessionsOf(admin, app)).every((session) => session.state === 'idle'), 'rolled back');
    assert.equal(await count(), 0);
    assert.equal(pgm.poolState().idle, 1);
    await pgm.close();
  });

  it('under autocommit streams values as they come (take(1) ends the scope early)', async () => {
    const { pgm } = testManager({ isolationLevel: 'autocommit', poolSize: 1 });
    const rows = await lastValueFrom(pgm.cursor((curs) => curs.execute('SELECT generate_series(1, 100000) AS n')).pipe(take(2), toArray()));
    assert.deepEqual(rows.map((row) => row.n), [1, 2]);
    await waitFor(() => pgm.poolState().idle === 1, 'the lease is back');
    await pgm.close();
  });
});
