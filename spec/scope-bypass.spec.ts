import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, concat, defer, EMPTY, lastValueFrom, map, Observable, toArray } from 'rxjs';
import { ConfigurationError, logEventsTo, PgManager, PoolError, RxpgError, StatementTimeoutError, type DbEvent } from '../src/index.js';
import { DATABASE_URL, testManager, uniqueName, useAdminClient, waitForIdle } from './support/database.js';

type BypassEvent = Extract<DbEvent, { type: 'scope_bypass' }>;

/** The scope_bypass events of `pgm`, as they come. */
function bypasses(pgm: PgManager): { readonly events: BypassEvent[]; stop(): void } {
  const events: BypassEvent[] = [];
  const subscription = pgm.events$.subscribe((event) => {
    if (event.type === 'scope_bypass') events.push(event);
  });
  return { events, stop: () => subscription.unsubscribe() };
}

const caught = <T>(observable: Observable<T>, into: (error: unknown) => void): Observable<T> =>
  observable.pipe(
    catchError((error: unknown) => {
      into(error);
      return EMPTY;
    }),
  );

describe('a statement started inside a scope without its handle (scope_bypass)', () => {
  let table: string;
  const admin = useAdminClient({
    setup: async () => {
      table = uniqueName('bypass');
      await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, value int NOT NULL)`);
    },
    teardown: async () => {
      await admin.query(`DROP TABLE ${table}`);
    },
  });
  const valueOf = async (id: number): Promise<number | undefined> => {
    const rows = (await admin.query(`SELECT value FROM ${table} WHERE id = $1`, [id])).rows;
    return rows.length === 0 ? undefined : Number(rows[0].value);
  };

  it('warns, naming tx.query, when pgm.query() inside transaction() waits on the transaction’s row lock (pool of 2)', async () => {
    await admin.query(`INSERT INTO ${table} VALUES (1, 0)`);
    const { pgm, app } = testManager({ poolSize: 2 });
    const seen = bypasses(pgm);
    const warned: string[] = [];
    const logged = pgm.events$.subscribe(logEventsTo({ debug: () => {}, info: () => {}, warn: (line) => warned.push(String(line)), error: () => {} }));
    let bypassError: unknown;
    const started = Date.now();
    const values = await lastValueFrom(
      pgm
        .transaction((tx) =>
          concat(
            tx.query(`UPDATE ${table} SET value = value + 1 WHERE id = 1`),
            // On the pool's other session, outside the transaction: blocked by its row lock. The
            // timeout bounds the wait that would otherwise last forever.
            caught(pgm.query(`UPDATE ${table} SET value = value + 10 WHERE id = 1`, [], { timeout: 500 }), (error) => (bypassError = error)),
            tx.query<{ value: number }>(`SELECT value FROM ${table} WHERE id = 1`),
          ),
        )
        .pipe(map((row) => row.value), toArray()),
    );
    const elapsed = Date.now() - started;
    logged.unsubscribe();
    seen.stop();
    assert.ok(bypassError instanceof StatementTimeoutError, `the bypassing statement waited on the lock until its timeout: ${String(bypassError)}`);
    assert.ok(elapsed >= 450 && elapsed < 5000, `took ${elapsed} ms`);
    assert.deepEqual(values, [1], 'the transaction went on and committed its own update only');
    assert.equal(await valueOf(1), 1);
    assert.equal(seen.events.length, 1, JSON.stringify(seen.events));
    assert.deepEqual(seen.events[0], {
      type: 'scope_bypass',
      conn: 'default',
      method: 'query',
      scope: 'transaction',
      use: 'tx.query',
      sql: `UPDATE ${table} SET value = value + 10 WHERE id = 1`,
      refused: false,
    });
    assert.equal(warned.length, 1, JSON.stringify(warned));
    assert.match(warned[0], /^pgmanager_sql: \[default\] pgm\.query\(\) started inside a transaction\(\) .*Run it with tx\.query\(\)/);
    await waitForIdle(admin, app, 'no statement left running or waiting on the server');
    await pgm.close();
  });

  it("scopeBypass: 'error' fails the statement at once with a PoolError (scope_bypass); the transaction can still commit", async () => {
    await admin.query(`INSERT INTO ${table} VALUES (2, 0)`);
    const { pgm, app } = testManager({ poolSize: 2 }, { scopeBypass: 'error' });
    const seen = bypasses(pgm);
    let bypassError: unknown;
    const started = Date.now();
    await lastValueFrom(
      pgm.transaction((tx) =>
        concat(
          tx.query(`UPDATE ${table} SET value = value + 1 WHERE id = 2`),
          caught(pgm.query(`UPDATE ${table} SET value = value + 10 WHERE id = 2`), (error) => (bypassError = error)),
          tx.query(`UPDATE ${table} SET value = value + 100 WHERE id = 2`),
        ),
      ),
      { defaultValue: null },
    );
    seen.stop();
    assert.ok(bypassError instanceof PoolError, String(bypassError));
    assert.equal(bypassError.reason, 'scope_bypass');
    assert.equal(bypassError.code, 'RXPG_POOL');
    assert.match(bypassError.message, /^pgm\.query\(\) started inside a transaction\(\) on 'default' without the scope's handle.*Run it with tx\.query\(\)/);
    assert.ok(Date.now() - started < 2000, 'failed at once, not after a lock wait');
    assert.equal(await valueOf(2), 101, 'committed the transaction’s two updates, not the refused one');
    assert.deepEqual(seen.events.map((event) => event.refused), [true]);
    await waitForIdle(admin, app, 'nothing left running');
    await pgm.close();
  });

  it('follows the scope across awaits (async functions, promises) and names the handle of each kind of scope', async () => {
    const { pgm } = testManager({ poolSize: 3 }, { scopeBypass: 'error' });
    const errors: unknown[] = [];
    const keep = (error: unknown): void => void errors.push(error);
    await lastValueFrom(
      pgm.transaction((tx) =>
        defer(async () => {
          await lastValueFrom(tx.query('SELECT 1'));
          await new Promise((resolve) => setTimeout(resolve, 10));
          await lastValueFrom(pgm.query('SELECT 2')).catch(keep);
        }),
      ),
    );
    await lastValueFrom(pgm.connection('default', (conn) => defer(async () => {
      await lastValueFrom(conn.query('SELECT 1'));
      await lastValueFrom(pgm.stream('SELECT 3')).catch(keep);
    })));
    await lastValueFrom(pgm.cursor((curs) => concat(curs.execute('SELECT 1'), caught(pgm.transaction((tx) => tx.query('SELECT 4')), keep))));
    assert.deepEqual(
      errors.map((error) => (error instanceof RxpgError ? `${error.reason} ${error.message.slice(0, error.message.indexOf(' without'))}` : String(error))),
      [
        "scope_bypass pgm.query() started inside a transaction() on 'default'",
        "scope_bypass pgm.stream() started inside a connection() on 'default'",
        "scope_bypass pgm.transaction() started inside a cursor() on 'default'",
      ],
    );
    assert.match(String((errors[1] as Error).message), /Run it with conn\.query\(\)/);
    assert.match(String((errors[2] as Error).message), /Run it with curs\.execute\(\)/);
    await pgm.close();
  });

  it('a pool of one: pgm.query() after an await inside the transaction fails fast with pool_deadlock, not after acquireTimeout', async () => {
    const { pgm } = testManager({ poolSize: 1, acquireTimeout: 5000 });
    const seen = bypasses(pgm);
    const started = Date.now();
    const error = await lastValueFrom(
      pgm.transaction((tx) =>
        defer(async () => {
          await lastValueFrom(tx.query('SELECT 1'));
          return lastValueFrom(pgm.query('SELECT 2'));
        }),
      ),
    ).catch((caughtError: unknown) => caughtError);
    seen.stop();
    assert.ok(error instanceof PoolError && error.reason === 'pool_deadlock', String(error));
    assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
    assert.equal(seen.events.length, 1, 'and the bypass was reported');
    await pgm.close();
  });

  it('no false positive: statements on the handle, outside any scope (also while one runs), on another config, or after the scope ended', async () => {
    const { pgm } = testManager({ poolSize: 3 }, { scopeBypass: 'error' });
    pgm.createConn({ name: 'other', connectionString: DATABASE_URL, poolSize: 1 });
    const seen = bypasses(pgm);
    let late: Promise<unknown> | undefined;
    const rows = await lastValueFrom(
      pgm
        .transaction((tx) =>
          concat(
            tx.query('SELECT 1 AS n'),
            tx.stream('SELECT 2 AS n'),
            tx.savepoint((sp) => sp.query('SELECT 3 AS n')),
            pgm.query('SELECT 4 AS n', [], { conn: 'other' }),
            defer(() => {
              // Started inside, run after the transaction ended: no scope left to bypass.
              late = new Promise((resolve) => setTimeout(resolve, 200)).then(() => lastValueFrom(pgm.query('SELECT 5 AS n')));
              return EMPTY;
            }),
          ),
        )
        .pipe(map((row) => row.n), toArray()),
    );
    assert.deepEqual(rows, [1, 2, 3, 4]);
    assert.equal(((await late) as { n: number }).n, 5);
    // A transaction open while other pipelines query outside it, and a query started from its
    // values once it has committed.
    const [outside, ...concurrent] = await Promise.all([
      lastValueFrom(
        pgm.transaction((tx) => tx.query<{ n: number }>('SELECT 6 AS n FROM pg_sleep(0.3)')).pipe(
          map((row) => row.n),
          (committed) => concat(committed, pgm.query<{ n: number }>('SELECT 7 AS n').pipe(map((row) => row.n))),
          toArray(),
        ),
      ),
      lastValueFrom(pgm.query<{ n: number }>('SELECT 8 AS n FROM pg_sleep(0.1)')),
      lastValueFrom(pgm.connection('default', (conn) => conn.query<{ n: number }>('SELECT 9 AS n'))),
    ]);
    seen.stop();
    assert.deepEqual(outside, [6, 7]);
    assert.deepEqual(concurrent.map((row) => row.n), [8, 9]);
    assert.deepEqual(seen.events, []);
    await pgm.close();
  });

  it("refuses a scopeBypass that is not 'warn', 'error' or 'off'", () => {
    assert.throws(() => new PgManager({ scopeBypass: 'strict' as never }), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /scopeBypass must be 'warn', 'error' or 'off', not "strict"/);
      return true;
    });
  });

  it("scopeBypass: 'off' reports nothing", async () => {
    const { pgm } = testManager({ poolSize: 2 }, { scopeBypass: 'off' });
    const seen = bypasses(pgm);
    await lastValueFrom(pgm.transaction((tx) => concat(tx.query('SELECT 1'), pgm.query('SELECT 2'))));
    seen.stop();
    assert.deepEqual(seen.events, []);
    await pgm.close();
  });
});
