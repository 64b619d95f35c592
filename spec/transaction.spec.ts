import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, concat, defer, EMPTY, firstValueFrom, from, ignoreElements, lastValueFrom, NEVER, of, Subject, take, takeUntil, tap, throwError, toArray } from 'rxjs';
import { ConnectionError, PgManager, QueryError, retryTransaction, RxpgError } from '../src/index.js';
import { sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { PgMessageCounter } from './support/pg-message-counter.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

describe('transaction()', () => {
  let table: string;
  const admin = useAdminClient({
    setup: async () => {
      table = uniqueName('tx');
      await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, value int NOT NULL)`);
    },
    teardown: async () => {
      await admin.query(`DROP TABLE ${table}`);
    },
  });
  const count = async (id: number): Promise<number> =>
    Number((await admin.query(`SELECT count(*) AS n FROM ${table} WHERE id = $1`, [id])).rows[0].n);
  /** The app has sessions on the server (an empty list proves nothing) and none is in a transaction. */
  const allIdle = async (app: string): Promise<boolean> => {
    const sessions = await sessionsOf(admin, app);
    return sessions.length > 0 && sessions.every((session) => session.state === 'idle');
  };

  it('commits when the scope completes and emits its values only after COMMIT', async () => {
    const { pgm } = testManager();
    // One log for both: what the server completed (query events) and what the subscriber got.
    const seen: string[] = [];
    const sub = pgm.events$.subscribe((event) => {
      if (event.type === 'query') seen.push(...(event.prelude ?? []), event.sql);
    });
    const rows = await lastValueFrom(
      pgm.transaction((tx) => tx.query(`INSERT INTO ${table} VALUES (1, 10) RETURNING value`)).pipe(
        tap((row) => seen.push(`value ${String(row.value)}`)),
        toArray(),
      ),
    );
    sub.unsubscribe();
    assert.deepEqual(rows.map((row) => row.value), [10]);
    assert.deepEqual(seen, ['BEGIN', `INSERT INTO ${table} VALUES (1, 10) RETURNING value`, 'COMMIT', 'value 10'], 'the value came after COMMIT completed');
    assert.equal(await count(1), 1);
    await pgm.close();
  });

  it('rolls back when the scope errors, and the session comes back clean', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const error = await lastValueFrom(
      pgm.transaction((tx) => concat(tx.query(`INSERT INTO ${table} VALUES (2, 20)`), throwError(() => new Error('abort')))),
    ).catch((caught: Error) => caught);
    assert.equal(error.message, 'abort');
    assert.equal(await count(2), 0);
    await waitFor(() => allIdle(app), 'the session is idle, not idle in transaction');
    const status = await firstValueFrom(pgm.query("SELECT 'ok' AS status"));
    assert.equal(status.status, 'ok');
    await pgm.close();
  });

  it('rolls back when unsubscribed mid-transaction, cancelling the running statement', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const stop = new Subject<void>();
    const done = lastValueFrom(
      pgm.transaction((tx) => concat(tx.query(`INSERT INTO ${table} VALUES (3, 30)`), tx.query('SELECT pg_sleep(30)'))).pipe(takeUntil(stop)),
      { defaultValue: null },
    );
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => /pg_sleep/.test(session.query) && session.state === 'active'), 'the transaction sleeps');
    stop.next();
    await done;
    await waitFor(() => allIdle(app), 'rolled back, not idle in transaction', 2000);
    assert.equal(await count(3), 0);
    assert.equal(pgm.poolState().idle, 1);
    await pgm.close();
  });

  it('passes isolation level, read only and deferrable to BEGIN', async () => {
    const { pgm } = testManager();
    const rows = await lastValueFrom(
      pgm.transaction(
        (tx) => concat(tx.query('SHOW transaction_isolation'), tx.query('SHOW transaction_read_only'), tx.query('SHOW transaction_deferrable')),
        { isolationLevel: 'serializable', readOnly: true, deferrable: true },
      ).pipe(toArray()),
    );
    assert.deepEqual(rows.map((row) => row.get(0)), ['serializable', 'on', 'on']);
    const defaulted = testManager({ isolationLevel: 'repeatable_read' });
    const level = await firstValueFrom(defaulted.pgm.transaction((tx) => tx.query('SHOW transaction_isolation')));
    assert.equal(level.get(0), 'repeatable read', 'the config isolation level is the default');
    await defaulted.pgm.close();
    await pgm.close();
  });

  it('sends BEGIN with the first statement in one round trip, and that statement runs inside the transaction', async () => {
    const proxy = await TcpProxy.start(databaseTarget());
    const messages = new PgMessageCounter();
    proxy.onServerChunk = (chunk, connection) => messages.feed(chunk, connection);
    const pgm = new PgManager();
    pgm.createConn({ ...throughProxy(proxy), poolSize: 1 });
    await firstValueFrom(pgm.query('SELECT 1'));
    const seen: { sql: string; prelude?: readonly string[] }[] = [];
    const events = pgm.events$.subscribe((event) => {
      if (event.type === 'query') seen.push({ sql: event.sql, prelude: event.prelude });
    });
    const roundTripsBefore = messages.count('Z');
    const rows = await lastValueFrom(
      pgm
        .transaction(
          (tx) =>
            concat(
              tx.query('SELECT current_setting($1) AS level, pg_current_xact_id()::text AS xact', ['transaction_isolation']),
              tx.query('SELECT pg_current_xact_id()::text AS xact, $1::int AS n', [2]),
            ),
          { isolationLevel: 'serializable' },
        )
        .pipe(toArray()),
    );
    events.unsubscribe();
    assert.equal(messages.count('Z') - roundTripsBefore, 3, 'BEGIN with the first statement, the second statement, COMMIT');
    assert.equal(rows[0].level, 'serializable', 'BEGIN ISOLATION LEVEL ran before the first statement');
    assert.equal(rows[0].xact, rows[1].xact, 'both statements ran in one transaction');
    assert.deepEqual(seen.map((event) => event.prelude), [['BEGIN ISOLATION LEVEL SERIALIZABLE'], undefined, undefined]);
    await pgm.close();
    await proxy.stop();
  });

  it('keeps the statements after one that ended the transaction inside a transaction of their own', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const error = await lastValueFrom(
      pgm.transaction((tx) => concat(tx.query('COMMIT'), tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, [41, 90]), throwError(() => new Error('abort')))),
      { defaultValue: null },
    ).catch((caught: unknown) => caught);
    assert.equal((error as Error).message, 'abort');
    assert.equal(await count(41), 0, 'the INSERT was rolled back with the transaction, not autocommitted');
    await pgm.close();
  });

  it('forgets a BEGIN no statement took when the transaction ends before its first statement', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const error = await lastValueFrom(pgm.transaction(() => throwError(() => new Error('before any statement'))), { defaultValue: null }).catch(
      (caught: unknown) => caught,
    );
    assert.equal((error as Error).message, 'before any statement');
    await lastValueFrom(pgm.query(`INSERT INTO ${table} VALUES ($1, $2)`, [42, 100]), { defaultValue: null });
    assert.equal(await count(42), 1, 'the next plain statement on the session committed on its own');
    assert.equal(await lastValueFrom(pgm.transaction(() => EMPTY), { defaultValue: 'empty' }), 'empty');
    assert.equal(pgm.poolState().idle, 1);
    await pgm.close();
  });

  it('nests savepoints: a failed savepoint rolls back alone and the transaction goes on', async () => {
    const { pgm } = testManager();
    await lastValueFrom(
      pgm.transaction((tx) =>
        concat(
          tx.query(`INSERT INTO ${table} VALUES (4, 40)`),
          tx.savepoint((sp) => concat(sp.query(`INSERT INTO ${table} VALUES (5, 50)`), sp.query('SELECT 1/0'))).pipe(
            catchError((error: unknown) => {
              assert.ok(error instanceof QueryError && error.reason === 'data');
              return EMPTY;
            }),
          ),
          tx.savepoint((sp) => sp.query(`INSERT INTO ${table} VALUES (6, 60)`)),
        ),
      ),
      { defaultValue: null },
    );
    assert.deepEqual([await count(4), await count(5), await count(6)], [1, 0, 1]);
    await pgm.close();
  });

  it('rolls a savepoint back when it is unsubscribed and keeps the transaction', async () => {
    const { pgm } = testManager();
    await lastValueFrom(
      pgm.transaction((tx) =>
        concat(
          tx.savepoint((sp) => concat(sp.query(`INSERT INTO ${table} VALUES (7, 70) RETURNING id`), NEVER)).pipe(take(1)),
          tx.query(`INSERT INTO ${table} VALUES (8, 80)`),
        ),
      ),
      { defaultValue: null },
    );
    assert.deepEqual([await count(7), await count(8)], [0, 1]);
    await pgm.close();
  });

  it('does not report success when COMMIT turned into ROLLBACK after a caught error', async () => {
    const { pgm } = testManager();
    const error = await lastValueFrom(
      pgm.transaction((tx) =>
        concat(
          tx.query(`INSERT INTO ${table} VALUES (9, 90)`),
          tx.query('SELECT 1/0').pipe(catchError(() => EMPTY)),
        ),
      ),
      { defaultValue: null },
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof QueryError, String(error));
    assert.equal(error.reason, 'invalid_transaction_state');
    assert.equal(await count(9), 0);
    await pgm.close();
  });

  it('marks a serialization failure retryable and retryTransaction runs the whole transaction again', async () => {
    const { pgm } = testManager();
    await admin.query(`INSERT INTO ${table} VALUES (10, 0)`);
    let attempts = 0;
    const values = await lastValueFrom(
      pgm.transaction(
        (tx) => {
          attempts++;
          return concat(
            tx.query(`SELECT value FROM ${table} WHERE id = 10`),
            // Another session changes the row after this snapshot was taken, on the first attempt.
            defer(() => (attempts === 1 ? from(admin.query(`UPDATE ${table} SET value = value + 1 WHERE id = 10`)).pipe(ignoreElements()) : EMPTY)),
            tx.query(`UPDATE ${table} SET value = value + 1 WHERE id = 10 RETURNING value`),
          );
        },
        { isolationLevel: 'serializable' },
      ).pipe(retryTransaction({ maxAttempts: 3, baseDelayMillis: 1 }), toArray()),
    );
    assert.equal(attempts, 2);
    assert.deepEqual(values.map((row) => row.value), [1, 2], 'only the successful attempt emitted');
    const error = await lastValueFrom(
      pgm.transaction(
        (tx) =>
          concat(
            tx.query(`SELECT value FROM ${table} WHERE id = 10`),
            defer(() => from(admin.query(`UPDATE ${table} SET value = value + 1 WHERE id = 10`)).pipe(ignoreElements())),
            tx.query(`UPDATE ${table} SET value = value + 1 WHERE id = 10`),
          ),
        { isolationLevel: 'serializable' },
      ),
      { defaultValue: null },
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof RxpgError);
    assert.equal(error.reason, 'serialization');
    assert.equal(error.isRetryable, true);
    await pgm.close();
  });

  it('reports a session lost during COMMIT as outcome_unknown, never as rolled back', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    // A deferred constraint trigger makes COMMIT itself take a second, long enough to kill it.
    const slow = uniqueName('slow_commit');
    await admin.query(`CREATE TABLE ${slow} (id int)`);
    await admin.query(`CREATE FUNCTION ${slow}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$`);
    await admin.query(`CREATE CONSTRAINT TRIGGER ${slow}_tr AFTER INSERT ON ${slow} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${slow}_fn()`);
    const outcome = lastValueFrom(pgm.transaction((tx) => tx.query(`INSERT INTO ${slow} VALUES (1)`)), { defaultValue: null }).catch((caught: unknown) => caught);
    let pid = 0;
    await waitFor(async () => {
      const running = (await sessionsOf(admin, app)).find((session) => session.query === 'COMMIT' && session.state === 'active');
      pid = running?.pid ?? 0;
      return pid !== 0;
    }, 'COMMIT is running');
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const error = await outcome;
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.reason, 'outcome_unknown');
    assert.equal(error.isRetryable, false);
    assert.match(error.message, /may or may not have committed/);
    assert.equal((await firstValueFrom(pgm.query("SELECT 'next' AS s"))).s, 'next', 'the broken session was discarded');
    await admin.query(`DROP TABLE ${slow}; DROP FUNCTION ${slow}_fn()`);
    await pgm.close();
  });

  it('says a session lost under a statement of the transaction was rolled back by the server, and is retryable', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const error = await lastValueFrom(
      pgm.transaction((tx) =>
        concat(
          tx.query(`INSERT INTO ${table} VALUES (12, 120)`),
          tx.query('SELECT pg_terminate_backend(pg_backend_pid())'),
        ),
      ),
      { defaultValue: null },
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.reason, 'connection');
    assert.equal(error.isRetryable, true);
    assert.match(error.message, /before COMMIT was sent; the server rolled the transaction back/);
    assert.equal(await count(12), 0, 'nothing of it committed');
    assert.equal((await firstValueFrom(pgm.query("SELECT 'next' AS s"))).s, 'next', 'the broken session was discarded');
    await pgm.close();
  });

  it('fails fast instead of deadlocking when the scope asks its own one-session pool for another lease', async () => {
    const { pgm } = testManager({ poolSize: 1, acquireTimeout: 10_000 });
    const started = Date.now();
    const error = await lastValueFrom(pgm.transaction(() => pgm.query('SELECT 1')), { defaultValue: null }).catch((caught: unknown) => caught);
    assert.ok(error instanceof RxpgError, String(error));
    assert.equal(error.reason, 'pool_deadlock');
    assert.match(error.message, /tx\.query/);
    const nested = await lastValueFrom(
      pgm.transaction((tx) => concat(tx.query('SELECT 1'), defer(() => pgm.query('SELECT 2')))),
      { defaultValue: null },
    ).catch((caught: unknown) => caught);
    assert.ok(nested instanceof RxpgError && nested.reason === 'pool_deadlock', String(nested));
    assert.ok(Date.now() - started < 2000, 'failed fast, not after acquireTimeout');
    assert.equal((await firstValueFrom(pgm.query('SELECT 3 AS n'))).n, 3, 'the pool still serves');
    await pgm.close();
  });

  it('lets a pipeline start new work from a transaction’s values once it has committed', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const rows = await lastValueFrom(
      concat(pgm.transaction((tx) => tx.query('SELECT 1 AS n')), of(null)).pipe(
        take(1),
        toArray(),
      ),
    );
    assert.equal(rows.length, 1);
    await pgm.close();
  });
});
