// rxpg/opentelemetry against the real servers, read back through the SDK's in-memory span and
// metric exporters: one CLIENT span per statement, stream and transaction, parented where the
// observable was subscribed, with the database semantic conventions' attributes; the metrics of
// operations and pools; stop(); and nothing of OpenTelemetry loaded by 'rxpg' itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { concat, firstValueFrom, lastValueFrom, map, Subject, take, toArray } from 'rxjs';
import { ConfigurationError, PoolError, type DbManager } from '../src/index.js';
import { instrument } from '../src/opentelemetry.js';
import { summarizeStatement } from '../src/opentelemetry/statement-summary.js';
import { BACKEND_NAMES, backendIt, backendSkip, openBackend, type Backend } from './support/backends.js';
import { expectSessions, sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { testSdk, type TestSdk } from './support/otel-sdk.js';

/** Runs `fn` with a fresh span of the test's own tracer active; returns that span. */
async function inSpan(sdk: TestSdk, name: string, fn: () => Promise<unknown>): Promise<Span> {
  const span = sdk.tracerProvider.getTracer('test').startSpan(name);
  await context.with(trace.setSpan(context.active(), span), fn);
  span.end();
  return span;
}

/** rxpg's finished spans. */
function rxpgSpans(sdk: TestSdk): ReadableSpan[] {
  return sdk.spans.getFinishedSpans().filter((span) => span.instrumentationScope.name === 'rxpg');
}

/** The one finished rxpg span whose query text is `sql`. */
function spanOf(sdk: TestSdk, sql: string): ReadableSpan {
  const found = rxpgSpans(sdk).filter((span) => span.attributes['db.query.text'] === sql);
  assert.equal(found.length, 1, `one span for ${sql}; saw ${JSON.stringify(rxpgSpans(sdk).map((span) => span.attributes['db.query.text']))}`);
  return found[0];
}

describe('rxpg/opentelemetry', () => {
  const admin = useAdminClient();
  const sdk = testSdk();
  after(() => sdk.shutdown());

  function instrumented(options: Parameters<typeof testManager>[0] = {}): { pgm: ReturnType<typeof testManager>['pgm']; app: string; stop: () => void } {
    const { pgm, app } = testManager(options);
    const handle = instrument(pgm, { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    return { pgm, app, stop: () => handle.stop() };
  }

  it('gives each statement a CLIENT span with the semantic conventions’ attributes, never a parameter value', async () => {
    const { pgm, stop } = instrumented();
    const secret = uniqueName('value');
    const sql = `SELECT relname FROM pg_catalog.pg_class WHERE relname <> $1 LIMIT 3 /* ${uniqueName('q')} */`;
    const rows = await lastValueFrom(pgm.query(sql, [secret]).pipe(toArray()));
    assert.equal(rows.length, 3);
    const span = spanOf(sdk, sql);
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.name, 'SELECT pg_catalog.pg_class');
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(
      { ...span.attributes },
      {
        'db.system.name': 'postgresql',
        'db.namespace': new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test').pathname.slice(1),
        'db.operation.name': 'SELECT',
        'db.collection.name': 'pg_catalog.pg_class',
        'db.query.text': sql,
        'db.response.returned_rows': 3,
        'server.address': span.attributes['server.address'],
        'server.port': span.attributes['server.port'],
        'rxpg.conn': 'default',
        'rxpg.method': 'query',
      },
    );
    assert.equal(typeof span.attributes['server.address'], 'string');
    assert.equal(typeof span.attributes['server.port'], 'number');
    // The text is there (the positive control); the value is nowhere.
    const everything = JSON.stringify(sdk.spans.getFinishedSpans().map((each) => [each.name, each.attributes, each.events]));
    assert.ok(everything.includes(sql.slice(0, 30)));
    assert.ok(!everything.includes(secret), 'no parameter value in any span');
    stop();
    await pgm.close();
  });

  it('parents a span on the context active when the observable was subscribed, not when it was made', async () => {
    const { pgm, stop } = instrumented();
    const sql = `SELECT 1 AS one /* ${uniqueName('parent')} */`;
    let query = pgm.query(sql);
    const madeIn = await inSpan(sdk, 'made', async () => {
      query = pgm.query(sql);
    });
    const subscribedIn = await inSpan(sdk, 'subscribed', () => lastValueFrom(query.pipe(toArray())));
    const span = spanOf(sdk, sql);
    assert.equal(span.parentSpanContext?.spanId, subscribedIn.spanContext().spanId);
    assert.notEqual(span.parentSpanContext?.spanId, madeIn.spanContext().spanId);
    assert.equal(span.spanContext().traceId, subscribedIn.spanContext().traceId);
    // Outside any span: a root span of its own.
    const root = `SELECT 2 AS two /* ${uniqueName('root')} */`;
    await lastValueFrom(pgm.query(root).pipe(toArray()));
    assert.equal(spanOf(sdk, root).parentSpanContext, undefined);
    stop();
    await pgm.close();
  });

  it('opens sessions outside the caller’s context: a later caller’s callbacks never run in the span that opened the session', async () => {
    const activeInNext = async (pgm: ReturnType<typeof testManager>['pgm']): Promise<string | undefined> => {
      // The only session is opened inside one request's span…
      const opener = sdk.tracerProvider.getTracer('test').startSpan('opens-the-session');
      await context.with(trace.setSpan(context.active(), opener), () => lastValueFrom(pgm.query('SELECT 1')));
      opener.end();
      // …and a later caller, outside it, gets its row in a callback.
      let seen: string | undefined = 'nothing';
      await new Promise<void>((resolve, reject) =>
        pgm.query('SELECT 2 AS two').subscribe({ next: () => (seen = (trace.getActiveSpan() as unknown as { name?: string } | undefined)?.name), error: reject, complete: resolve }),
      );
      return seen;
    };
    const { pgm, stop } = instrumented({ poolSize: 1 });
    assert.equal(await activeInNext(pgm), undefined, 'no span active in the later caller’s callback');
    stop();
    await pgm.close();
    // The positive control: without instrumentation the socket keeps the opener's context.
    const plain = testManager({ poolSize: 1 }).pgm;
    assert.equal(await activeInNext(plain), 'opens-the-session');
    await plain.close();
  });

  it('makes a transaction a span whose statements are its children, an error when it rolled back', async () => {
    const { pgm, stop } = instrumented();
    const first = `SELECT 1 AS a /* ${uniqueName('tx')} */`;
    const second = `SELECT 2 AS b /* ${uniqueName('tx')} */`;
    const request = await inSpan(sdk, 'request', () => lastValueFrom(pgm.transaction((tx) => concat(tx.query(first), tx.command(second))).pipe(toArray())));
    const [a, b] = [spanOf(sdk, first), spanOf(sdk, second)];
    assert.equal(a.parentSpanContext?.spanId, b.parentSpanContext?.spanId, 'both statements have one parent');
    const transaction = rxpgSpans(sdk).find((span) => span.spanContext().spanId === a.parentSpanContext?.spanId);
    assert.ok(transaction, 'the parent is an rxpg span');
    assert.equal(transaction.name.startsWith('transaction '), true, transaction.name);
    assert.equal(transaction.kind, SpanKind.CLIENT);
    assert.equal(transaction.attributes['rxpg.method'], 'transaction');
    assert.equal(transaction.parentSpanContext?.spanId, request.spanContext().spanId, 'the transaction is a child of the request');
    assert.equal(transaction.status.code, SpanStatusCode.UNSET);
    assert.equal(b.attributes['rxpg.method'], 'command');

    const failing = `SELECT 1/0 AS boom /* ${uniqueName('tx')} */`;
    const error = await lastValueFrom(pgm.transaction((tx) => tx.query(failing))).catch((caught: unknown) => caught);
    assert.ok(error instanceof Error);
    const failed = spanOf(sdk, failing);
    const failedTransaction = rxpgSpans(sdk).find((span) => span.spanContext().spanId === failed.parentSpanContext?.spanId);
    assert.ok(failedTransaction);
    assert.equal(failedTransaction.status.code, SpanStatusCode.ERROR);
    assert.equal(failedTransaction.attributes['error.type'], '22012');
    stop();
    await pgm.close();
  });

  it('reports a failed statement with its SQLSTATE as db.response.status_code and error.type, and a pool timeout by class', async () => {
    const { pgm, stop } = instrumented({ poolSize: 1, acquireTimeout: 1000 });
    const sql = `SELECT no_such_column FROM pg_class /* ${uniqueName('err')} */`;
    await lastValueFrom(pgm.query(sql)).catch(() => undefined);
    const span = spanOf(sdk, sql);
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.match(String(span.status.message), /no_such_column/);
    assert.equal(span.attributes['db.response.status_code'], '42703');
    assert.equal(span.attributes['error.type'], '42703');
    assert.equal(span.attributes['rxpg.error.reason'], 'undefined_object');
    assert.equal(span.events.filter((event) => event.name === 'exception').length, 1);

    const holder = pgm.connection().subscribe();
    await waitFor(() => pgm.poolState().inUse === 1, 'the only session is leased');
    const waiting = `SELECT 3 AS waits /* ${uniqueName('timeout')} */`;
    const error = await lastValueFrom(pgm.query(waiting)).catch((caught: unknown) => caught);
    assert.ok(error instanceof PoolError && error.reason === 'pool_timeout', String(error));
    const timedOut = spanOf(sdk, waiting);
    assert.equal(timedOut.attributes['error.type'], 'PoolError');
    assert.equal(timedOut.attributes['db.response.status_code'], undefined);
    assert.equal(timedOut.attributes['rxpg.error.reason'], 'pool_timeout');
    holder.unsubscribe();
    stop();
    await pgm.close();
  });

  it('ends the span of an unsubscribed statement as cancelled (an error before any row, not after rows were taken)', async () => {
    const { pgm, app, stop } = instrumented();
    const sleeping = `SELECT pg_sleep(30) /* ${uniqueName('cancel')} */`;
    const subscription = pgm.query(sleeping).subscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.query === sleeping && session.state === 'active'), 'the sleep runs');
    subscription.unsubscribe();
    const span = spanOf(sdk, sleeping);
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.match(String(span.status.message), /cancelled/);
    assert.equal(span.attributes['error.type'], 'cancelled');
    assert.equal(span.attributes['rxpg.cancelled'], true);
    await waitFor(async () => !(await expectSessions(admin, app)).some((session) => session.query === sleeping && session.state === 'active'), 'the sleep was cancelled');

    // first() took the row it wanted: not an error.
    const streamed = `SELECT n FROM generate_series(1, 10000) AS n /* ${uniqueName('first')} */`;
    const row = await firstValueFrom(pgm.stream<{ n: number }>(streamed, [], { batchSize: 10 }));
    assert.equal(row.n, 1);
    const taken = spanOf(sdk, streamed);
    assert.equal(taken.status.code, SpanStatusCode.UNSET);
    assert.equal(taken.attributes['rxpg.cancelled'], true);
    assert.equal(taken.attributes['rxpg.method'], 'stream');

    // A transaction unsubscribed mid-way is rolled back: cancelled.
    const inside = `SELECT pg_sleep(30) /* ${uniqueName('txcancel')} */`;
    const tx = pgm.transaction((handle) => handle.query(inside)).subscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.query === inside), 'the transaction runs');
    tx.unsubscribe();
    const statement = spanOf(sdk, inside);
    const transaction = rxpgSpans(sdk).find((each) => each.spanContext().spanId === statement.parentSpanContext?.spanId);
    assert.ok(transaction);
    assert.equal(transaction.attributes['error.type'], 'cancelled');
    assert.equal(sdk.openSpans.names('rxpg').length, 0, `no rxpg span left open: ${sdk.openSpans.names('rxpg')}`);
    stop();
    await pgm.close();
  });

  it('gives each COPY a span with the server’s row count, as a child of its transaction, and ends an unsubscribed one as cancelled', async () => {
    const { pgm, stop } = instrumented();
    const table = uniqueName('otel_copy');
    await admin.query(`CREATE TABLE ${table} (n int)`);
    try {
      const load = `COPY ${table} FROM STDIN /* ${uniqueName('from')} */`;
      assert.equal(await lastValueFrom(pgm.copyFrom(load, [[1], [2], [3]])), 3);
      const loaded = spanOf(sdk, load);
      assert.equal(loaded.kind, SpanKind.CLIENT);
      assert.equal(loaded.name, `COPY ${table}`);
      assert.equal(loaded.attributes['db.operation.name'], 'COPY');
      assert.equal(loaded.attributes['rxpg.method'], 'copyFrom');
      assert.equal(loaded.attributes['db.response.returned_rows'], 3);
      assert.equal(loaded.status.code, SpanStatusCode.UNSET);

      const dump = `COPY ${table} TO STDOUT /* ${uniqueName('to')} */`;
      const bytes = await lastValueFrom(pgm.copyTo(dump).pipe(map((chunk) => chunk.length), toArray()));
      assert.ok(bytes.length > 0);
      assert.equal(spanOf(sdk, dump).attributes['db.response.returned_rows'], 3);

      const inTransaction = `COPY ${table} FROM STDIN /* ${uniqueName('tx')} */`;
      await lastValueFrom(pgm.transaction((tx) => tx.copyFrom(inTransaction, [[4]])));
      const child = spanOf(sdk, inTransaction);
      const transaction = rxpgSpans(sdk).find((span) => span.spanContext().spanId === child.parentSpanContext?.spanId);
      assert.ok(transaction, 'the COPY is a child of its transaction’s span');
      assert.equal(transaction.attributes['rxpg.method'], 'transaction');

      const bad = `COPY ${table} FROM STDIN /* ${uniqueName('bad')} */`;
      await assert.rejects(lastValueFrom(pgm.copyFrom(bad, ['x\n'])));
      const failed = spanOf(sdk, bad);
      assert.equal(failed.status.code, SpanStatusCode.ERROR);
      assert.equal(failed.attributes['db.response.status_code'], '22P02');

      // A source that never ends, unsubscribed: CopyFail, and the span ends as cancelled.
      const endless = `COPY ${table} FROM STDIN /* ${uniqueName('cut')} */`;
      const subscription = pgm.copyFrom(endless, new Subject<string>()).subscribe({ error: () => {} });
      await waitFor(() => sdk.openSpans.names('rxpg').length > 0, 'the COPY’s span is open while it runs');
      subscription.unsubscribe();
      const cut = spanOf(sdk, endless);
      assert.equal(cut.attributes['rxpg.cancelled'], true);
      assert.equal(cut.attributes['error.type'], 'cancelled');
      assert.equal(sdk.openSpans.names('rxpg').length, 0, `no rxpg span left open: ${sdk.openSpans.names('rxpg')}`);
    } finally {
      stop();
      await pgm.close();
      await admin.query(`DROP TABLE ${table}`);
    }
  });

  it('gives each batch one span: BATCH and the shared operation, the size, the texts; a child of its transaction; the failed statement’s SQLSTATE', async () => {
    const { pgm, stop } = instrumented();
    const table = uniqueName('otel_batch');
    await admin.query(`CREATE TABLE ${table} (n int PRIMARY KEY)`);
    try {
      const insert = `INSERT INTO ${table} VALUES ($1) RETURNING n`;
      await lastValueFrom(pgm.batch([[insert, [1]], [insert, [2]]]).pipe(toArray()));
      const batches = rxpgSpans(sdk).filter((span) => span.attributes['rxpg.method'] === 'batch');
      assert.equal(batches.length, 1, 'one span for the batch, none per statement');
      const [batch] = batches;
      assert.equal(batch.kind, SpanKind.CLIENT);
      assert.equal(batch.name, `BATCH INSERT ${table}`);
      assert.equal(batch.attributes['db.operation.name'], 'BATCH INSERT');
      assert.equal(batch.attributes['db.operation.batch.size'], 2);
      assert.equal(batch.attributes['db.query.text'], `${insert}; ${insert}`);
      assert.equal(batch.attributes['db.response.returned_rows'], 2);

      const mixed = `SELECT count(*) FROM ${table} /* ${uniqueName('mixed')} */`;
      await lastValueFrom(pgm.transaction((tx) => tx.batch([[insert, [3]], [mixed]])).pipe(toArray()));
      const child = spanOf(sdk, `${insert}; ${mixed}`);
      assert.equal(child.name, `BATCH ${table}`, 'statements of different operations share only their table');
      assert.equal(child.attributes['db.operation.name'], 'BATCH');
      const transaction = rxpgSpans(sdk).find((span) => span.spanContext().spanId === child.parentSpanContext?.spanId);
      assert.equal(transaction?.attributes['rxpg.method'], 'transaction', 'the batch is a child of its transaction’s span');

      const duplicate = `INSERT INTO ${table} VALUES ($1) /* ${uniqueName('dup')} */`;
      await assert.rejects(lastValueFrom(pgm.batch([[duplicate, [9]], [duplicate, [9]]])));
      const failed = spanOf(sdk, `${duplicate}; ${duplicate}`);
      assert.equal(failed.status.code, SpanStatusCode.ERROR);
      assert.equal(failed.attributes['db.response.status_code'], '23505');
      assert.equal(sdk.openSpans.names('rxpg').length, 0, `no rxpg span left open: ${sdk.openSpans.names('rxpg')}`);
    } finally {
      stop();
      await pgm.close();
      await admin.query(`DROP TABLE ${table}`);
    }
  });

  it('counts the rows a whole stream returned', async () => {
    const { pgm, stop } = instrumented();
    const sql = `SELECT n FROM generate_series(1, 2500) AS n /* ${uniqueName('stream')} */`;
    const total = await lastValueFrom(pgm.stream<{ n: number }>(sql, [], { batchSize: 100 }).pipe(map((row) => row.n), toArray()));
    assert.equal(total.length, 2500);
    const span = spanOf(sdk, sql);
    assert.equal(span.attributes['db.response.returned_rows'], 2500);
    assert.equal(span.attributes['rxpg.method'], 'stream');
    const batches = `SELECT n FROM generate_series(1, 250) AS n /* ${uniqueName('batches')} */`;
    await lastValueFrom(pgm.streamBatches(batches, [], (rows) => [rows.length], { batchSize: 100 }).pipe(toArray()));
    assert.equal(spanOf(sdk, batches).attributes['db.response.returned_rows'], 250);
    stop();
    await pgm.close();
  });

  it('leaves db.query.text out with queryText: false', async () => {
    const { pgm } = testManager();
    const handle = instrument(pgm, { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider, queryText: false });
    const marker = uniqueName('notext');
    await lastValueFrom(pgm.query(`SELECT 1 AS ${marker}`));
    const spans = rxpgSpans(sdk).filter((span) => span.attributes['rxpg.conn'] === 'default' && !('db.query.text' in span.attributes));
    assert.ok(spans.length >= 1, 'a span without the text');
    assert.ok(!JSON.stringify(sdk.spans.getFinishedSpans().map((span) => span.attributes)).includes(marker));
    handle.stop();
    await pgm.close();
  });

  it('measures operations and pools: duration, connection count, max, pending requests, wait and create times, timeouts', async () => {
    // An SDK of its own: the histograms' counts are this test's alone.
    const own = testSdk();
    const pool = uniqueName('metrics');
    const { pgm, app } = testManager({ name: pool, poolSize: 2, acquireTimeout: 1000 });
    const handle = instrument(pgm, { tracerProvider: own.tracerProvider, meterProvider: own.meterProvider });
    const points = async (name: string) => (await own.collect(name)).filter((point) => point.attributes['db.client.connection.pool.name'] === pool);
    const value = async (name: string, state?: string) =>
      (await points(name)).find((point) => state === undefined || point.attributes['db.client.connection.state'] === state)?.value;

    const marker = uniqueName('op');
    for (let round = 0; round < 5; round++) await lastValueFrom(pgm.query(`SELECT ${round} AS ${marker}`, [], { conn: pool }));
    await lastValueFrom(pgm.query(`SELECT nope_${marker}`, [], { conn: pool })).catch(() => undefined);
    const durations = await own.histogram('db.client.operation.duration');
    assert.deepEqual(
      durations.map((point) => [point.attributes['db.operation.name'], point.attributes['error.type'], point.attributes['db.response.status_code'], point.value.count]),
      [
        ['SELECT', undefined, undefined, 5],
        ['SELECT', '42703', '42703', 1],
      ],
    );
    assert.equal(durations[0].attributes['db.system.name'], 'postgresql');
    assert.ok((durations[0].value.sum ?? 0) > 0 && (durations[0].value.max ?? 1) < 60, 'in seconds');

    // Two sessions held: both used, as the server shows; a third request waits.
    const holders = [pgm.connection(pool).subscribe(), pgm.connection(pool).subscribe()];
    await waitFor(() => pgm.poolState(pool).inUse === 2, 'both sessions leased');
    assert.equal((await expectSessions(admin, app)).length, 2);
    assert.equal(await value('db.client.connection.count', 'used'), 2);
    assert.equal(await value('db.client.connection.count', 'idle'), 0);
    assert.equal(await value('db.client.connection.max'), 2);
    const waiter = pgm.query('SELECT 1', [], { conn: pool }).subscribe({ error: () => {} });
    assert.equal(await value('db.client.connection.pending_requests'), 1);
    await waitFor(() => pgm.poolState(pool).waiting === 0, 'the waiting request timed out');
    waiter.unsubscribe();
    assert.equal(await value('db.client.connection.timeouts'), 1);
    holders.forEach((holder) => holder.unsubscribe());
    await waitFor(() => pgm.poolState(pool).idle === 2, 'both sessions back');
    assert.equal(await value('db.client.connection.count', 'idle'), 2);
    assert.equal(await value('db.client.connection.count', 'used'), 0);

    const stats = pgm.poolStats(pool);
    const waits = (await own.histogram('db.client.connection.wait_time')).filter((point) => point.attributes['db.client.connection.pool.name'] === pool);
    assert.equal(waits[0]?.value.count, stats.acquires, 'one wait per acquire');
    const creates = (await own.histogram('db.client.connection.create_time')).filter((point) => point.attributes['db.client.connection.pool.name'] === pool);
    assert.equal(creates[0]?.value.count, stats.connects, 'one create time per session opened');
    assert.equal(stats.connects, 2);

    // stop(): the gauges are no longer read (the SDK goes on exporting their last values), and no new span is made.
    handle.stop();
    const held = pgm.connection(pool).subscribe();
    await waitFor(() => pgm.poolState(pool).inUse === 1, 'a session leased after stop()');
    assert.equal(await value('db.client.connection.count', 'used'), 0, 'not read after stop()');
    held.unsubscribe();
    const after = `SELECT 1 AS ${uniqueName('stopped')}`;
    await lastValueFrom(pgm.query(after, [], { conn: pool }));
    assert.equal(own.spans.getFinishedSpans().filter((span) => span.attributes['db.query.text'] === after).length, 0);
    assert.equal(own.spans.getFinishedSpans().filter((span) => String(span.attributes['db.query.text']).includes(marker)).length, 6, 'the spans before stop()');
    await pgm.close();
    await own.shutdown();
  });

  it('refuses a second instrumentation of one manager until the first is stopped, and bad options', async () => {
    const { pgm } = testManager();
    const first = instrument(pgm, { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    assert.throws(() => instrument(pgm), (error: unknown) => error instanceof ConfigurationError && /instrumented already/.test(error.message));
    first.stop();
    first.stop();
    const second = instrument(pgm, { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    second.stop();
    assert.throws(() => instrument(pgm, { queryTxt: false } as never), /queryTxt.*queryText/s);
    assert.throws(() => instrument(pgm, { queryText: 'no' } as never), ConfigurationError);
    assert.throws(() => instrument({} as DbManager), /PgManager or MyManager/);
    await pgm.close();
  });

  it('reads the operation and first table off a statement’s text', () => {
    const cases: [string, string | undefined, string | undefined][] = [
      ['SELECT * FROM users WHERE id = $1', 'SELECT', 'users'],
      ['  -- note\n/* c */ select a from "My Table" t', 'SELECT', '"My Table"'],
      ['(SELECT 1)', 'SELECT', undefined],
      ['SELECT * FROM generate_series(1, 3)', 'SELECT', undefined],
      ['INSERT INTO app.orders (id) VALUES ($1)', 'INSERT', 'app.orders'],
      ['UPDATE accounts SET x = 1', 'UPDATE', 'accounts'],
      ['DELETE FROM `logs` WHERE 1', 'DELETE', '`logs`'],
      ['WITH x AS (SELECT 1) SELECT * FROM x', 'WITH', undefined],
      ['', undefined, undefined],
    ];
    for (const [sql, operation, collection] of cases) {
      const summary = summarizeStatement(sql);
      assert.deepEqual([summary.operation, summary.collection], [operation, collection], sql);
    }
  });

  it('is not loaded by rxpg: importing rxpg (or rxpg/mysql) never resolves @opentelemetry/api', () => {
    // A resolve hook that refuses @opentelemetry/api, then the entry points as users import them.
    const refuse = `data:text/javascript,${encodeURIComponent(
      `export async function resolve(specifier, context, next) { if (specifier.startsWith('@opentelemetry/api')) throw new Error('loaded @opentelemetry/api'); return next(specifier, context); }`,
    )}`;
    const run = (entry: string) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', `import { register } from 'node:module'; register(${JSON.stringify(refuse)}); await import(${JSON.stringify(entry)}); console.log('imported');`],
        { encoding: 'utf8', timeout: 60_000 },
      );
    for (const entry of ['./src/index.ts', './src/mysql.ts', './src/testing.ts']) {
      const result = run(entry);
      assert.equal(result.status, 0, `${entry}: ${result.stderr}`);
      assert.match(result.stdout, /imported/);
    }
    // The positive control: the hook does refuse, for the entry that needs the API.
    const control = run('./src/opentelemetry.ts');
    assert.notEqual(control.status, 0);
    assert.match(control.stderr, /loaded @opentelemetry\/api/);
  });
});

for (const name of BACKEND_NAMES) {
  describe(`rxpg/opentelemetry on ${name}`, () => {
    const backendTest = backendIt(name);
    let backend: Backend;
    let sdk: TestSdk;
    if (!backendSkip(name)) {
      before(async () => {
        backend = await openBackend(name);
        sdk = testSdk();
      });
      after(async () => {
        await backend?.end();
        await sdk?.shutdown();
      });
    }
    backendTest('names the system and reports the server’s own error code', async () => {
      const { db } = backend.manager();
      const handle = instrument(db, { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
      const good = `SELECT 1 AS ok /* ${uniqueName('sys')} */`;
      await lastValueFrom(db.query(good).pipe(take(1)));
      const bad = `SELECT no_such_column_${uniqueName('x')} FROM (SELECT 1 AS a) AS t`;
      await lastValueFrom(db.query(bad)).catch(() => undefined);
      const spans = sdk.spans.getFinishedSpans();
      const okSpan = spans.find((span) => span.attributes['db.query.text'] === good);
      const badSpan = spans.find((span) => span.attributes['db.query.text'] === bad);
      assert.ok(okSpan && badSpan);
      assert.equal(okSpan.attributes['db.system.name'], name === 'postgres' ? 'postgresql' : 'mysql');
      // SQLSTATE 42703 on Postgres; errno 1054 (ER_BAD_FIELD_ERROR) on MySQL and MariaDB.
      assert.equal(badSpan.attributes['db.response.status_code'], name === 'postgres' ? '42703' : '1054');
      assert.equal(badSpan.status.code, SpanStatusCode.ERROR);
      handle.stop();
      await db.close();
    });
  });
}
