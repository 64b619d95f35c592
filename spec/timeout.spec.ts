import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, map, takeUntil, timer, toArray } from 'rxjs';
import { ConfigurationError, PgManager, QueryError, StatementTimeoutError } from '../src/index.js';
import { sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

describe('timeouts: enforced by the server and by the client', () => {
  const admin = useAdminClient();

  const idle = (app: string) =>
    waitFor(async () => (await sessionsOf(admin, app)).every((session) => session.state === 'idle'), 'nothing runs on the server', 2000);

  it('the server’s statement_timeout stops a statement: one typed error saying which limit fired', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const started = Date.now();
    const error = await lastValueFrom(pgm.query('SELECT pg_sleep(5)', [], { timeout: 300 })).catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    assert.ok(error instanceof StatementTimeoutError, String(error));
    assert.equal(error.code, 'RXPG_TIMEOUT');
    assert.equal(error.reason, 'statement_timeout');
    assert.equal(error.limit, 'server');
    assert.equal(error.timeoutMillis, 300);
    assert.ok(error.elapsedMillis >= 290 && elapsed < 1500, `elapsed ${elapsed} ms`);
    assert.match(error.message, /server's statement_timeout fired after \d+ ms/);
    assert.equal(error.statement, 'SELECT pg_sleep(5)');
    await idle(app);
    assert.equal(pgm.poolState().idle, 1, 'the session is back at idle');
    await pgm.close();
  });

  it('never leaks the per-statement limit to the next statement, in or out of a transaction', async () => {
    const { pgm } = testManager({ poolSize: 1, statementTimeout: 7000 });
    await lastValueFrom(pgm.query('SELECT 1', [], { timeout: 250 }));
    assert.equal((await firstValueFrom(pgm.query('SHOW statement_timeout'))).get(0), '7s');
    const inside = await lastValueFrom(
      pgm.transaction((tx) =>
        concat(
          tx.query('SELECT 1 AS one', [], { timeout: 250 }),
          tx.query('SHOW statement_timeout'),
          tx.stream('SELECT n FROM generate_series(1, 5) AS n', [], { timeout: 250, batchSize: 2 }),
          tx.query('SHOW statement_timeout'),
        ),
      ).pipe(map((row) => row.get(0)), toArray()),
    );
    assert.deepEqual(inside, [1, '7s', 1, 2, 3, 4, 5, '7s']);
    await pgm.close();
  });

  it('the client’s timer fires when the server cannot answer, and the session is never pooled busy', async () => {
    const proxy = await TcpProxy.start(databaseTarget());
    const app = uniqueName('rxpg_client_timeout');
    const pgm = new PgManager({ clientTimeoutGraceMillis: 100, cancelGraceMillis: 300 });
    pgm.createConn({
      ...throughProxy(proxy),
      applicationName: app,
      poolSize: 1,
    });
    await lastValueFrom(pgm.query('SELECT 1'));
    const running = lastValueFrom(pgm.query('SELECT pg_sleep(2)', [], { timeout: 300 })).catch((caught: unknown) => caught);
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active'), 'the statement runs');
    proxy.freeze();
    const error = await running;
    assert.ok(error instanceof StatementTimeoutError, String(error));
    assert.equal(error.limit, 'client');
    assert.ok(error.elapsedMillis >= 390, `fired after ${error.elapsedMillis} ms`);
    // The cancel cannot get through the frozen network: the session is destroyed, not pooled.
    await waitFor(() => pgm.poolState().total === 0, 'the unreachable session was destroyed', 2000);
    proxy.thaw();
    assert.equal((await firstValueFrom(pgm.query("SELECT 'new session' AS s"))).s, 'new session');
    await pgm.close();
    await proxy.stop();
  });

  it('stops the client’s timer when the caller lets go: no timeout error or event afterwards', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const errors: string[] = [];
    const events = pgm.events$.subscribe((event) => {
      if (event.type === 'error') errors.push(event.error.name);
    });
    const started = Date.now();
    const running = pgm.query('SELECT pg_sleep(5)', [], { timeout: 300 }).subscribe({ error: (error: unknown) => errors.push(`subscriber: ${String(error)}`) });
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active'), 'the statement runs');
    running.unsubscribe();
    await idle(app);
    // Past the limit and the client's grace (300 + 100 ms): the timer would have fired by now.
    await waitFor(() => Date.now() - started > 800, 'time passes');
    events.unsubscribe();
    assert.deepEqual(errors, []);
    await pgm.close();
  });

  it('limits a whole stream, first fetch to last, the consumer’s time included', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const quick = await lastValueFrom(
      pgm.streamBatches('SELECT n FROM generate_series(1, 6) AS n', [], (rows) => timer(20).pipe(map(() => rows.length)), { batchSize: 2, timeout: 2000 }).pipe(toArray()),
    );
    assert.deepEqual(quick, [2, 2, 2]);
    const slowConsumer = await lastValueFrom(
      pgm.streamBatches('SELECT n FROM generate_series(1, 6) AS n', [], (rows) => timer(250).pipe(map(() => rows.length)), { batchSize: 2, timeout: 300 }),
    ).catch((caught: unknown) => caught);
    assert.ok(slowConsumer instanceof StatementTimeoutError, String(slowConsumer));
    const slowServer = await lastValueFrom(
      pgm.stream('SELECT n, pg_sleep(CASE WHEN n = 5 THEN 3 ELSE 0 END) FROM generate_series(1, 10) AS n', [], { batchSize: 2, timeout: 200 }),
    ).catch((caught: unknown) => caught);
    assert.ok(slowServer instanceof StatementTimeoutError, String(slowServer));
    assert.equal(slowServer.limit, 'server');
    await idle(app);
    await waitFor(() => pgm.poolState().idle === 1, 'the lease is back');
    assert.equal((await firstValueFrom(pgm.query('SHOW statement_timeout'))).get(0), '0', 'no limit left behind');
    await pgm.close();
  });

  it('a cancel racing a statement’s end never cancels the next statement (2000 rounds)', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    await lastValueFrom(pgm.query('SELECT 1'));
    let cancelled = 0;
    for (let round = 0; round < 2000; round++) {
      // Unsubscribe around the moment a fast statement finishes.
      const outcome = await lastValueFrom(pgm.query('SELECT pg_sleep(0.0005) AS x').pipe(takeUntil(timer(round % 3))), { defaultValue: 'unsubscribed' });
      if (outcome === 'unsubscribed') cancelled++;
      const next = await firstValueFrom(pgm.query<{ round: number }>('SELECT $1::int AS round', [round]));
      assert.equal(next.round, round, `round ${round}: the statement after a cancel succeeded`);
    }
    assert.ok(cancelled > 200, `enough rounds were cancelled (${cancelled})`);
    await pgm.close();
  });

  it('a cancel from another session before the limit is reported as canceled, not as a timeout', async () => {
    const { pgm, app } = testManager({ poolSize: 1 });
    const started = Date.now();
    const outcome = lastValueFrom(pgm.query('SELECT pg_sleep(5)', [], { timeout: 4000 })).catch((caught: unknown) => caught);
    let pids: number[] = [];
    await waitFor(async () => (pids = (await sessionsOf(admin, app)).filter((s) => s.query.includes('pg_sleep')).map((s) => s.pid)).length === 1, 'the statement runs');
    await admin.query('SELECT pg_cancel_backend($1)', [pids[0]]);
    const error = await outcome;
    const elapsed = Date.now() - started;
    assert.ok(!(error instanceof StatementTimeoutError), `not a timeout: ${String(error)}`);
    assert.ok(error instanceof QueryError, String(error));
    assert.equal(error.reason, 'canceled');
    assert.ok(elapsed < 3500, `ended by the cancel, before the limit (${elapsed} ms)`);
    await pgm.close();
  });

  it('applies the config’s statementTimeout as the default limit of every statement', async () => {
    const { pgm } = testManager({ statementTimeout: 200 });
    const error = await lastValueFrom(pgm.query('SELECT pg_sleep(3)')).catch((caught: unknown) => caught);
    assert.ok(error instanceof StatementTimeoutError, String(error));
    assert.equal(error.timeoutMillis, 200);
    const longer = await firstValueFrom(pgm.query("SELECT pg_sleep(0.3), 'done' AS s", [], { timeout: 2000 }));
    assert.equal(longer.s, 'done', 'a statement may ask for more');
    await pgm.close();
  });

  it('rejects a bad timeout at once', async () => {
    const { pgm } = testManager();
    assert.throws(() => pgm.query('SELECT 1', [], { timeout: -5 }), /query: timeout must be a whole number of milliseconds from 1 to 2147483647 .*, got -5\./);
    // NaN used to be reported as "got null"; above 2^31−1 ms Node's timer fired after 1 ms.
    assert.throws(() => pgm.query('SELECT 1', [], { timeout: NaN }), /got NaN\./);
    assert.throws(() => pgm.stream('SELECT 1', [], { timeout: 2 ** 31 }), /stream: timeout must be .*, got 2147483648\./);
    assert.throws(() => pgm.command('SELECT 1', [], { timeout: 2.5 }), /command: timeout must be a whole number of milliseconds/);
    const inScope = await lastValueFrom(pgm.transaction((tx) => tx.query('SELECT 1', [], { timeout: Infinity }))).catch((error: unknown) => error);
    assert.ok(inScope instanceof ConfigurationError && /query: timeout must be .*, got Infinity\./.test(inScope.message), String(inScope));
    await pgm.close();
    assert.throws(() => pgm.query('SELECT 1', [], { timout: 5 } as never), /did you mean 'timeout'/);
  });
});
