import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, Subject, takeUntil, tap, throwError, toArray } from 'rxjs';
import { BatchError, ConfigurationError, ConnectionError, PgManager, QueryError, retryTransaction, StatementTimeoutError, type BatchResult } from '../src/index.js';
import { sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { PgMessageCounter } from './support/pg-message-counter.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

describe('batch()', () => {
  let table: string;
  let sequence: string;
  const admin = useAdminClient({
    setup: async () => {
      table = uniqueName('batch');
      sequence = `${table}_seq`;
      await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, value int NOT NULL)`);
      await admin.query(`CREATE SEQUENCE ${sequence}`);
    },
    teardown: async () => {
      await admin.query(`DROP TABLE ${table}`);
      await admin.query(`DROP SEQUENCE ${sequence}`);
    },
  });
  const ids = async (from: number, to: number): Promise<number[]> =>
    (await admin.query(`SELECT id FROM ${table} WHERE id BETWEEN $1 AND $2 ORDER BY id`, [from, to])).rows.map((row) => Number(row.id));
  /** The sequence's last value: nextval() is not transactional, so it shows which statements ran even when rolled back. */
  const sequenceValue = async (): Promise<number> => {
    const { last_value, is_called } = (await admin.query(`SELECT last_value, is_called FROM ${sequence}`)).rows[0];
    return is_called ? Number(last_value) : 0;
  };
  const idleSessions = async (app: string): Promise<boolean> => {
    const sessions = await sessionsOf(admin, app);
    return sessions.length > 0 && sessions.every((session) => session.state === 'idle');
  };
  // What a test opened, closed after it even when an assertion failed (an open socket would hold the file's process).
  const opened: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const resource of opened.splice(0).reverse()) await resource.close().catch(() => {});
  });
  const closing = <R extends PgManager | TcpProxy>(resource: R): R => {
    opened.push(resource instanceof TcpProxy ? { close: () => resource.stop() } : resource);
    return resource;
  };
  /** A manager on one session through a proxy that counts the server's ReadyForQuery messages (one per round trip). */
  const counted = async (options: { prepare?: boolean } = {}): Promise<{ pgm: PgManager; roundTrips: () => number; proxy: TcpProxy; messages: PgMessageCounter }> => {
    const proxy = closing(await TcpProxy.start(databaseTarget()));
    const messages = new PgMessageCounter();
    proxy.onServerChunk = (chunk, connection) => messages.feed(chunk, connection);
    const pgm = closing(new PgManager());
    pgm.createConn({ ...throughProxy(proxy), poolSize: 1, applicationName: uniqueName('rxpg_batch'), ...options });
    await firstValueFrom(pgm.query('SELECT 1'));
    const before = messages.count('Z');
    return { pgm, proxy, roundTrips: () => messages.count('Z') - before, messages };
  };

  it('runs every statement in one round trip and emits each one’s result in order, after the batch ended', async () => {
    const { pgm, proxy, roundTrips } = await counted();
    const seen: string[] = [];
    const events = pgm.events$.subscribe((event) => {
      if (event.type === 'query') seen.push(`query ${event.batch?.index} of ${event.batch?.size}`);
    });
    const results = await lastValueFrom(
      pgm
        .batch<{ id: number; value: number }>([
          [`INSERT INTO ${table} VALUES ($1, $2)`, [1, 10]],
          [`INSERT INTO ${table} VALUES ($1, $2), ($3, $4)`, [2, 20, 3, 30]],
          [`SELECT id, value FROM ${table} WHERE id BETWEEN 1 AND 3 ORDER BY id`],
          [`UPDATE ${table} SET value = value + $1 WHERE id <= 2 RETURNING id, value`, [1]],
        ])
        .pipe(
          tap((result) => seen.push(`result ${result.index}`)),
          toArray(),
        ),
    );
    events.unsubscribe();
    assert.equal(roundTrips(), 1, 'one Sync for the whole batch');
    assert.deepEqual(
      results.map(({ index, command, rowCount }) => ({ index, command, rowCount })),
      [
        { index: 0, command: 'INSERT', rowCount: 1 },
        { index: 1, command: 'INSERT', rowCount: 2 },
        { index: 2, command: 'SELECT', rowCount: 3 },
        { index: 3, command: 'UPDATE', rowCount: 2 },
      ],
    );
    assert.deepEqual(results[2].rows.map((row) => [row.id, row.value]), [[1, 10], [2, 20], [3, 30]], 'a statement sees the ones before it');
    assert.deepEqual(results[3].rows.map((row) => [row.id, row.value]), [[1, 11], [2, 21]]);
    assert.deepEqual(results[0].rows, [], 'a statement without rows has an empty list');
    assert.equal(results[1].sql, `INSERT INTO ${table} VALUES ($1, $2), ($3, $4)`);
    assert.deepEqual(seen, ['query 0 of 4', 'query 1 of 4', 'query 2 of 4', 'query 3 of 4', 'result 0', 'result 1', 'result 2', 'result 3']);
    assert.deepEqual(await ids(1, 3), [1, 2, 3], 'committed');
    await pgm.close();
    await proxy.stop();
  });

  it('is atomic outside a transaction: a failing statement fails the batch with a BatchError, the rest do not run, nothing is committed', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const before = await sequenceValue();
    const error = await lastValueFrom(
      pgm.batch([
        [`INSERT INTO ${table} VALUES ($1, $2)`, [11, 1]],
        ['SELECT nextval($1)', [sequence]],
        [`INSERT INTO ${table} VALUES ($1, $2)`, [11, 2]],
        ['SELECT nextval($1)', [sequence]],
        [`INSERT INTO ${table} VALUES ($1, $2)`, [12, 3]],
      ]),
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof BatchError, `a BatchError, got ${String(error)}`);
    assert.ok(error instanceof QueryError, 'and a QueryError, with the server’s fields');
    assert.equal(error.index, 2);
    assert.equal(error.size, 5);
    assert.equal(error.statement, `INSERT INTO ${table} VALUES ($1, $2)`);
    assert.equal(error.reason, 'unique_violation');
    assert.equal(error.sqlState, '23505');
    assert.match(error.message, /^Statement 3 of 5 of the batch failed: duplicate key value violates unique constraint .*\. Statements 4–5 did not run\. The batch was rolled back: nothing it did was committed\.$/);
    assert.equal(await sequenceValue(), before + 1, 'the statement before the failure ran (nextval is not rolled back) and the one after it did not');
    assert.deepEqual(await ids(11, 12), [], 'the first INSERT was rolled back with the batch');
    await waitFor(() => idleSessions(app), 'the session is idle, not in a failed transaction');
    assert.deepEqual((await lastValueFrom(pgm.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = 11`))).n, 0, 'the session serves the next statement');
    await pgm.close();
  });

  it('with transaction options sends its own BEGIN and COMMIT in the same round trip', async () => {
    const { pgm, proxy, roundTrips } = await counted();
    const [setting] = await lastValueFrom(
      pgm.batch<{ level: string; readOnly: string }>(
        [[`SELECT current_setting('transaction_isolation') AS level, current_setting('transaction_read_only') AS "readOnly"`], ['SELECT 1']],
        { isolationLevel: 'serializable', readOnly: true },
      ).pipe(toArray()),
    );
    assert.equal(roundTrips(), 1, 'BEGIN, the statements and COMMIT before one Sync');
    assert.deepEqual([setting.rows[0].level, setting.rows[0].readOnly], ['serializable', 'on']);
    const refused = await lastValueFrom(pgm.batch([[`INSERT INTO ${table} VALUES ($1, $2)`, [21, 1]]], { readOnly: true })).catch((caught: unknown) => caught);
    assert.ok(refused instanceof BatchError && refused.sqlState === '25006' && refused.index === 0, `read-only refused the INSERT: ${String(refused)}`);
    assert.match((refused as Error).message, /The batch was rolled back: nothing it did was committed\.$/);
    await waitFor(() => pgm.poolState().idle === 1, 'the failed transaction was rolled back and the session pooled');
    assert.equal((await firstValueFrom(pgm.query("SELECT current_setting('transaction_isolation') AS level"))).level, 'read committed', 'the next statement runs outside it');
    await pgm.close();
    await proxy.stop();
  });

  it('inside transaction() is part of it: its BEGIN travels with it, a rollback undoes it, a failure fails the transaction', async () => {
    const { pgm, proxy, roundTrips } = await counted();
    const results = await lastValueFrom(
      pgm
        .transaction((tx) =>
          tx.batch([
            [`INSERT INTO ${table} VALUES ($1, $2)`, [31, 1]],
            ['SELECT pg_current_xact_id()::text AS xact'],
          ]),
        )
        .pipe(toArray()),
    );
    assert.equal(roundTrips(), 2, 'BEGIN with the batch, then COMMIT');
    assert.equal(results.length, 2);
    assert.deepEqual(await ids(31, 31), [31]);
    const aborted = await lastValueFrom(
      pgm.transaction((tx) => concat(tx.batch([[`INSERT INTO ${table} VALUES ($1, $2)`, [32, 1]]]), throwError(() => new Error('abort')))),
    ).catch((caught: Error) => caught);
    assert.equal((aborted as Error).message, 'abort');
    assert.deepEqual(await ids(32, 32), [], 'the rollback undid the batch');
    const failed = await lastValueFrom(
      pgm.transaction((tx) =>
        concat(
          tx.command(`INSERT INTO ${table} VALUES ($1, $2)`, [33, 1]),
          tx.batch([
            [`INSERT INTO ${table} VALUES ($1, $2)`, [34, 1]],
            [`INSERT INTO ${table} VALUES ($1, $2)`, [33, 2]],
          ]),
        ),
      ),
    ).catch((caught: unknown) => caught);
    assert.ok(failed instanceof BatchError && failed.index === 1, `the batch's error is the transaction's: ${String(failed)}`);
    assert.match(failed.message, /It ran inside a transaction/);
    assert.deepEqual(await ids(33, 34), [], 'nothing of the transaction was committed');
    await waitFor(() => pgm.poolState().idle === 1, 'the session was rolled back and pooled');
    await pgm.close();
    await proxy.stop();
  });

  it('is retried whole by retryTransaction() after a serialization failure, and emits only the attempt that committed', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const attempts = uniqueName('attempts');
    await admin.query(`CREATE SEQUENCE ${attempts}`);
    try {
      // The first attempt's second statement fails as a serialization failure would; nextval() outlives the rollback.
      const flaky = `DO $$ BEGIN IF nextval('${attempts}') = 1 THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure'; END IF; END $$`;
      const results = await lastValueFrom(
        pgm
          .batch([[`INSERT INTO ${table} VALUES ($1, $2) RETURNING id`, [81, 1]], [flaky], ['SELECT nextval($1)::int AS attempt', [attempts]]])
          .pipe(retryTransaction({ maxAttempts: 3, baseDelayMillis: 1 }), toArray()),
      );
      assert.deepEqual(results.map((result) => result.index), [0, 1, 2], 'one result per statement, from one attempt');
      assert.equal(results[2].rows[0].attempt, 3, 'the second attempt committed (its DO took value 2)');
      assert.deepEqual(await ids(81, 81), [81], 'committed once');
      const fresh = uniqueName('fresh_attempts');
      await admin.query(`CREATE SEQUENCE ${fresh}`);
      const failing = await lastValueFrom(pgm.batch([[flaky.replace(attempts, fresh)]])).catch((caught: unknown) => caught);
      await admin.query(`DROP SEQUENCE ${fresh}`);
      assert.ok(failing instanceof BatchError && failing.reason === 'serialization' && failing.isRetryable, `retryable: ${String(failing)}`);
    } finally {
      await admin.query(`DROP SEQUENCE ${attempts}`);
      await pgm.close();
    }
  });

  it('cancels on unsubscribe while it runs: the server stops, nothing is committed, the session is reused clean', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const pids: number[] = [];
    pgm.events$.subscribe((event) => {
      if (event.type === 'acquire') pids.push(event.processId);
    });
    const stop = new Subject<void>();
    const done = lastValueFrom(
      pgm
        .batch([
          [`INSERT INTO ${table} VALUES ($1, $2)`, [41, 1]],
          ['SELECT pg_sleep(30)'],
          [`INSERT INTO ${table} VALUES ($1, $2)`, [42, 1]],
        ])
        .pipe(takeUntil(stop)),
      { defaultValue: null },
    );
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => /pg_sleep/.test(session.query) && session.state === 'active'), 'the batch sleeps');
    stop.next();
    assert.equal(await done, null, 'no result after the unsubscribe');
    await waitFor(() => idleSessions(app), 'the server stopped the batch (no statement active)', 5000);
    assert.deepEqual(await ids(41, 42), [], 'the implicit transaction was rolled back');
    const after = await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'));
    assert.equal(pgm.poolState().total, 1);
    assert.equal(after.pid, (await sessionsOf(admin, app))[0].pid, 'the same session serves the next statement');
    await pgm.close();
  });

  for (const [prepare, base] of [[true, 50], [false, 55]] as const) {
    it(`works with prepare: ${String(prepare)}, also after a failed batch skipped a statement it was parsing`, async () => {
      const { pgm } = testManager({ poolSize: 1, prepare });
      const fresh = uniqueName('fresh');
      const insert = `INSERT INTO ${table} VALUES ($1, $2)`;
      // The third statement is new to the session: the failure before it makes the server skip its Parse.
      const failed = await lastValueFrom(pgm.batch([[insert, [base + 1, 1]], [insert, [base + 1, 2]], [`SELECT $1::text AS ${fresh}`, ['x']]])).catch(
        (caught: unknown) => caught,
      );
      assert.ok(failed instanceof BatchError && failed.index === 1, String(failed));
      const results = await lastValueFrom(
        pgm.batch([[`SELECT $1::text AS ${fresh}`, ['y']], [insert, [base + 2, 1]], [insert, [base + 3, 1]], [`SELECT $1::text AS ${fresh}`, ['z']]]).pipe(toArray()),
      );
      assert.deepEqual(results.map((result) => result.rows[0]?.[fresh] ?? result.rowCount), ['y', 1, 1, 'z']);
      const prepared = await lastValueFrom(pgm.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'rxpg%'"));
      if (prepare) assert.ok(prepared.n >= 2, `named statements were prepared (${prepared.n})`);
      else assert.equal(prepared.n, 0, 'no named statement');
      assert.deepEqual(await ids(base + 1, base + 3), [base + 2, base + 3]);
      await pgm.close();
    });
  }

  for (const prepare of [true, false]) {
    it(`describes a prepared statement's result on its first run only (prepare: ${String(prepare)}: ${prepare ? 'then no RowDescription' : 'every run'})`, async () => {
      const { pgm, messages } = await counted({ prepare });
      const statements = [
        [`SELECT id, value FROM ${table} WHERE id = $1`, [1]],
        ['SELECT $1::int AS n, $2::text AS t', [7, 'x']],
        ['SELECT $1::int AS n, $2::text AS t', [8, 'y']],
      ] as const;
      const descriptions: number[] = [];
      for (let run = 0; run < 3; run++) {
        const before = messages.count('T');
        const results = await lastValueFrom(pgm.batch(statements).pipe(toArray()));
        descriptions.push(messages.count('T') - before);
        assert.deepEqual([results[1].rows[0].n, results[1].rows[0].t, results[2].rows[0].n, results[2].rows[0].t], [7, 'x', 8, 'y'], `run ${run + 1} reads its rows`);
        assert.deepEqual(results[2].rows[0].keys(), ['n', 't'], 'with the described column names');
      }
      assert.deepEqual(descriptions, prepare ? [3, 0, 0] : [3, 3, 3]);
    });
  }

  it('gives a StatementTimeoutError past its timeout, and commits nothing', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const started = Date.now();
    const error = await lastValueFrom(pgm.batch([[`INSERT INTO ${table} VALUES ($1, $2)`, [61, 1]], ['SELECT pg_sleep(10)']], { timeout: 300 })).catch(
      (caught: unknown) => caught,
    );
    const elapsed = Date.now() - started;
    assert.ok(error instanceof StatementTimeoutError, String(error));
    assert.ok(elapsed >= 290 && elapsed < 5000, `stopped after ${elapsed} ms`);
    assert.deepEqual(await ids(61, 61), []);
    await waitFor(() => idleSessions(app), 'nothing runs on the server');
    await pgm.close();
  });

  it('is outcome_unknown when the session is lost before the server confirmed the end, and retryable inside transaction()', async () => {
    const proxy = closing(await TcpProxy.start(databaseTarget()));
    const pgm = closing(new PgManager());
    const app = uniqueName('rxpg_batch_cut');
    pgm.createConn({ ...throughProxy(proxy), poolSize: 1, applicationName: app });
    const cut = async (): Promise<void> => {
      await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active' AND application_name = $1", [app])).rowCount === 1, 'the batch sleeps');
      proxy.cut();
      // The server notices a vanished client only when it next writes: end the sleeping backend.
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND application_name = $1", [app]);
    };
    const own = lastValueFrom(pgm.batch([[`INSERT INTO ${table} VALUES ($1, $2)`, [71, 1]], ['SELECT pg_sleep(30)']])).catch((caught: unknown) => caught);
    await cut();
    const unknown = await own;
    assert.ok(unknown instanceof ConnectionError && unknown.reason === 'outcome_unknown' && !unknown.isRetryable, `outcome_unknown: ${String(unknown)}`);
    // pg_terminate_backend only signals: under load the first sleep still shows as active for a
    // while, and the second cut() must not take it for the transaction's.
    await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND application_name = $1", [app])).rowCount === 0, 'the first sleep ended', 10_000);
    const inTransaction = lastValueFrom(pgm.transaction((tx) => tx.batch([[`INSERT INTO ${table} VALUES ($1, $2)`, [72, 1]], ['SELECT pg_sleep(30)']]))).catch(
      (caught: unknown) => caught,
    );
    await cut();
    const lost = await inTransaction;
    assert.ok(lost instanceof ConnectionError && lost.reason === 'connection' && lost.isRetryable, `COMMIT was never sent: retryable, got ${inspect(lost)}`);
    await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND application_name = $1", [app])).rowCount === 0, 'the server ended the cut sessions', 10_000);
    assert.deepEqual(await ids(71, 72), []);
    await pgm.close();
    await proxy.stop();
  });

  it('refuses what cannot run before leasing: not a list, a bad pair, an unbindable parameter, COPY with the client; an empty batch completes at once', async () => {
    const { pgm } = testManager();
    assert.throws(() => pgm.batch('SELECT 1' as never), (error: unknown) => error instanceof ConfigurationError && /statements must be an array of \[sql, params\?\] pairs/.test(error.message));
    assert.throws(() => pgm.batch([['SELECT 1'], 'SELECT 2' as never]), /statement 2 of 2 must be an \[sql, params\?\] pair, got string/);
    assert.throws(() => pgm.batch([['SELECT $1::int', [undefined]]]), /statement 1 of 1: Parameter 1 of 1 is undefined/);
    assert.throws(() => pgm.batch([['SELECT 1'], ['/* export */ COPY t TO STDOUT']]), /statement 2 of 2 is a COPY … FROM STDIN or TO STDOUT, which cannot run in a batch/);
    assert.throws(() => pgm.batch([['SELECT 1']], { isolation: 'serializable' } as never), /unknown option 'isolation'.*isolationLevel/);
    assert.throws(() => pgm.batch([['SELECT 1']], { isolationLevel: 'snapshot' } as never), /isolationLevel 'snapshot' is not one of/);
    const empty: BatchResult[] = await lastValueFrom(pgm.batch([]).pipe(toArray()));
    assert.deepEqual(empty, []);
    assert.equal(pgm.poolState().total, 0, 'no session was opened for it');
    await pgm.close();
  });

  it('one statement per entry: a text of two statements is the server’s error for that entry', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const error = await lastValueFrom(pgm.batch([['SELECT 1'], ['SELECT 1; SELECT 2']])).catch((caught: unknown) => caught);
    assert.ok(error instanceof BatchError && error.index === 1 && error.sqlState === '42601', String(error));
    await pgm.close();
  });
});
