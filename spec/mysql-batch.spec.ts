// MyManager's batch(): the same API as PgManager's, but MySQL's protocol answers one statement
// before it reads the next, so the statements go one after another on one session
// (runBatchInTurn), inside a transaction of their own when the batch starts outside one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, Subject, takeUntil, throwError, toArray } from 'rxjs';
import { BatchError, QueryError } from '../src/index.js';
import { MyManager } from '../src/mysql.js';
import { uniqueName, waitFor } from './support/database.js';

const MYSQL_URL = process.env.MYSQL_URL;

describe('MyManager batch()', { skip: MYSQL_URL ? false : 'no MySQL/MariaDB server (MYSQL_URL unset)' }, () => {
  const setup = async (): Promise<{ mym: MyManager; table: string; pid: number }> => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    const table = uniqueName('rxpg_batch');
    await firstValueFrom(mym.command(`CREATE TABLE ${table} (id INT PRIMARY KEY, value INT NOT NULL) ENGINE=InnoDB`));
    const pid = (await firstValueFrom(mym.query<{ id: number }>('SELECT CONNECTION_ID() AS id'))).id;
    return { mym, table, pid };
  };
  const idsOf = async (mym: MyManager, table: string): Promise<number[]> =>
    (await lastValueFrom(mym.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`).pipe(toArray()))).map((row) => row.id);
  const drop = async (mym: MyManager, table: string): Promise<void> => {
    await firstValueFrom(mym.command(`DROP TABLE ${table}`));
    await mym.close();
  };

  it('runs the statements in order on one session, in a transaction of their own, and emits each one’s result after COMMIT', async () => {
    const { mym, table, pid } = await setup();
    const seen: string[] = [];
    mym.events$.subscribe((event) => event.type === 'query' && seen.push(event.batch ? `${event.batch.index}/${event.batch.size}` : event.sql));
    const results = await lastValueFrom(
      mym
        .batch<{ id: number; value: number; session: number; inTransaction: number }>([
          [`INSERT INTO ${table} VALUES (?, ?)`, [1, 10]],
          [`INSERT INTO ${table} VALUES (?, ?), (?, ?)`, [2, 20, 3, 30]],
          [`SELECT id, value, CONNECTION_ID() AS session, @@in_transaction AS inTransaction FROM ${table} ORDER BY id`],
        ])
        .pipe(toArray()),
    );
    assert.deepEqual(results.map(({ index, command, rowCount }) => [index, command, rowCount]), [[0, 'INSERT', 1], [1, 'INSERT', 2], [2, 'SELECT', 3]]);
    assert.deepEqual(results[2].rows.map((row) => [row.id, row.value]), [[1, 10], [2, 20], [3, 30]]);
    assert.ok(results[2].rows.every((row) => row.session === pid), 'one session');
    assert.ok(results[2].rows.every((row) => Number(row.inTransaction) === 1), 'inside the batch’s own transaction');
    assert.deepEqual(seen, ['0/3', '1/3', '2/3'], 'one query event per statement, in order');
    const after = await firstValueFrom(mym.query<{ n: number }>('SELECT @@in_transaction AS n'));
    assert.equal(Number(after.n), 0, 'committed: no transaction left open');
    assert.deepEqual(await idsOf(mym, table), [1, 2, 3]);
    await drop(mym, table);
  });

  it('is atomic outside a transaction: a failing statement is a BatchError, the rest do not run, the rest is rolled back', async () => {
    const { mym, table } = await setup();
    const error = await lastValueFrom(
      mym.batch([
        [`INSERT INTO ${table} VALUES (?, ?)`, [1, 1]],
        [`INSERT INTO ${table} VALUES (?, ?)`, [1, 2]],
        [`INSERT INTO ${table} VALUES (?, ?)`, [2, 3]],
      ]),
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof BatchError && error instanceof QueryError, String(error));
    assert.equal(error.index, 1);
    assert.equal(error.reason, 'unique_violation');
    assert.match(error.message, /^Statement 2 of 3 of the batch failed: .*Duplicate entry.*\. Statement 3 did not run\. The batch was rolled back: nothing it did was committed\.$/);
    assert.deepEqual(await idsOf(mym, table), [], 'the first INSERT was rolled back');
    await waitFor(() => mym.poolState().idle === 1, 'the session is back in the pool');
    const inTransaction = await firstValueFrom(mym.query<{ n: number }>('SELECT @@in_transaction AS n'));
    assert.equal(Number(inTransaction.n), 0, 'no transaction left open');
    await drop(mym, table);
  });

  it('inside transaction() is part of it: a rollback undoes it', async () => {
    const { mym, table } = await setup();
    await lastValueFrom(mym.transaction((tx) => tx.batch([[`INSERT INTO ${table} VALUES (?, ?)`, [1, 1]]])));
    const aborted = await lastValueFrom(
      mym.transaction((tx) => concat(tx.batch([[`INSERT INTO ${table} VALUES (?, ?)`, [2, 1]]]), throwError(() => new Error('abort')))),
    ).catch((caught: Error) => caught);
    assert.equal((aborted as Error).message, 'abort');
    assert.deepEqual(await idsOf(mym, table), [1], 'the committed one stays, the rolled-back one is gone');
    await drop(mym, table);
  });

  it('stops the running statement on unsubscribe (KILL QUERY) and rolls the batch back', async () => {
    const { mym, table, pid } = await setup();
    const admin = new MyManager();
    admin.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    const stop = new Subject<void>();
    const done = lastValueFrom(mym.batch([[`INSERT INTO ${table} VALUES (?, ?)`, [1, 1]], ['SELECT SLEEP(30)']]).pipe(takeUntil(stop)), { defaultValue: null });
    const running = async (): Promise<string | null> =>
      (await firstValueFrom(admin.query<{ info: string | null }>('SELECT INFO AS info FROM information_schema.PROCESSLIST WHERE ID = ?', [pid]))).info;
    await waitFor(async () => (await running()) === 'SELECT SLEEP(30)', 'the batch sleeps');
    stop.next();
    assert.equal(await done, null);
    await waitFor(() => mym.poolState().idle === 1, 'the session is back in the pool', 10_000);
    assert.equal(await running(), null, 'the server stopped the statement');
    assert.deepEqual(await idsOf(mym, table), [], 'the INSERT before it was rolled back');
    await admin.close();
    await drop(mym, table);
  });
});
