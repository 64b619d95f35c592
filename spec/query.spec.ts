import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, toArray, filter, map } from 'rxjs';
import { ConfigurationError, PgManager, QueryError, type DbEvent } from '../src/index.js';
import { expectSessions, noSessionsLeft, sessionsOf, testManager, uniqueName, useAdminClient } from './support/database.js';

describe('query()', () => {
  const admin = useAdminClient();

  it('is lazy: nothing connects before subscribe', async () => {
    const { pgm, app } = testManager();
    const query = pgm.query('SELECT 1 AS one');
    assert.equal((await sessionsOf(admin, app)).length, 0);
    const rows = await lastValueFrom(query.pipe(toArray()));
    assert.equal(rows[0].get('one'), 1);
    const opened = await expectSessions(admin, app);
    assert.equal(opened.length, 1);
    await pgm.close();
    await noSessionsLeft(admin, app, opened);
  });

  it('is cold: each subscription runs the statement once', async () => {
    const { pgm } = testManager();
    const table = uniqueName('runs');
    await lastValueFrom(pgm.query(`CREATE TABLE ${table} (n int)`), { defaultValue: null });
    const insert = pgm.query(`INSERT INTO ${table} VALUES (1) RETURNING n`);
    await lastValueFrom(insert);
    await lastValueFrom(insert);
    const [row] = await lastValueFrom(pgm.query<{ count: string }>(`SELECT count(*) AS count FROM ${table}`).pipe(toArray()));
    assert.equal(row.count, '2');
    await lastValueFrom(pgm.query(`DROP TABLE ${table}`), { defaultValue: null });
    await pgm.close();
  });

  it('binds parameters and never interpolates them', async () => {
    const { pgm } = testManager();
    const evil = "'); DROP TABLE pg_class; --";
    const rows = await lastValueFrom(
      pgm.query<{ s: string; n: number; b: boolean; j: { a: number[] }; d: Date; nul: null }>(
        'SELECT $1::text AS s, $2::int AS n, $3::bool AS b, $4::jsonb AS j, $5::timestamptz AS d, $6::text AS nul',
        [evil, 42, true, { a: [1, 2] }, new Date('2020-01-02T03:04:05Z'), null],
      ).pipe(toArray()),
    );
    assert.equal(rows[0].s, evil);
    assert.equal(rows[0].n, 42);
    assert.equal(rows[0].b, true);
    assert.deepEqual(rows[0].j, { a: [1, 2] });
    assert.equal(rows[0].d.toISOString(), '2020-01-02T03:04:05.000Z');
    assert.equal(rows[0].nul, null);
    await pgm.close();
  });

  it('emits rows in order with column metadata and composes with operators', async () => {
    const { pgm } = testManager();
    const names = await lastValueFrom(
      pgm.query<{ n: number }>('SELECT n, n * 2 AS n FROM generate_series(1, 10) AS n').pipe(
        filter((row) => row.n % 2 === 0),
        map((row) => row.getAll('n')),
        toArray(),
      ),
    );
    assert.deepEqual(names, [[2, 4], [4, 8], [6, 12], [8, 16], [10, 20]]);
    const first = await firstValueFrom(pgm.query('SELECT 1::int8 AS big, 2::int4 AS small'));
    assert.deepEqual(first.columns.map((column) => [column.name, column.typeOid]), [['big', 20], ['small', 23]]);
    assert.equal(first.big, '1', 'pg default: int8 as string');
    await pgm.close();
  });

  it('reads int8 as bigint when the config overrides the parser', async () => {
    const { pgm } = testManager({ typeParsers: { int8: BigInt } });
    const row = await firstValueFrom(pgm.query('SELECT 9007199254740993::int8 AS big'));
    assert.equal(row.big, 9007199254740993n);
    await pgm.close();
  });

  it('skips the call-site stack walk with callSites: false, and refuses a value that is not a boolean', async () => {
    const { pgm } = testManager({}, { callSites: false });
    const error = await lastValueFrom(pgm.query('SELEC 1')).catch((caught: unknown) => caught);
    assert.ok(error instanceof QueryError);
    assert.equal(error.reason, 'syntax');
    assert.doesNotMatch(error.stack ?? '', /query\.spec\.ts/, 'no caller frames were captured');
    const inTransaction = await lastValueFrom(pgm.transaction((tx) => tx.query('SELEC 2'))).catch((caught: unknown) => caught);
    assert.ok(inTransaction instanceof QueryError);
    assert.doesNotMatch(inTransaction.stack ?? '', /query\.spec\.ts/);
    await pgm.close();
    assert.throws(() => new PgManager({ callSites: 'yes' as unknown as boolean }), (thrown: unknown) => thrown instanceof ConfigurationError && /callSites/.test(thrown.message));
  });

  it('errors with a typed QueryError carrying the server fields, the statement and the caller stack', async () => {
    const { pgm } = testManager();
    const table = uniqueName('uniq');
    await lastValueFrom(pgm.query(`CREATE TABLE ${table} (id int CONSTRAINT ${table}_pk PRIMARY KEY)`), { defaultValue: null });
    await lastValueFrom(pgm.query(`INSERT INTO ${table} VALUES ($1)`, [1]), { defaultValue: null });
    const error = await lastValueFrom(pgm.query(`INSERT INTO ${table} VALUES ($1)`, [1])).catch((caught: unknown) => caught);
    assert.ok(error instanceof QueryError);
    assert.equal(error.code, 'RXPG_QUERY');
    assert.equal(error.reason, 'unique_violation');
    assert.equal(error.sqlState, '23505');
    assert.equal(error.isRetryable, false);
    assert.equal(error.constraint, `${table}_pk`);
    assert.equal(error.table, table);
    assert.equal(error.schema, 'public');
    assert.match(error.detail ?? '', /Key \(id\)=\(1\) already exists/);
    assert.equal(error.statement, `INSERT INTO ${table} VALUES ($1)`);
    assert.equal(error.conn, 'default');
    assert.match(error.stack ?? '', /query\.spec\.ts/, 'the stack points at the test that called query()');
    assert.doesNotMatch(error.stack ?? '', /pg-protocol|node_modules/);

    const syntax = await lastValueFrom(pgm.query('SELEC 1')).catch((caught: unknown) => caught);
    assert.ok(syntax instanceof QueryError);
    assert.equal(syntax.reason, 'syntax');
    assert.equal(syntax.position, 1);
    await lastValueFrom(pgm.query(`DROP TABLE ${table}`), { defaultValue: null });
    await pgm.close();
  });

  it('reports a parameter it cannot send as a typed error and keeps the pool healthy', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const error = await lastValueFrom(pgm.query('SELECT $1::jsonb', [circular])).catch((caught: unknown) => caught);
    assert.ok(error instanceof QueryError);
    assert.equal(error.reason, 'data');
    const mismatch = await lastValueFrom(pgm.query('SELECT $1::int, $2::int', [1])).catch((caught: unknown) => caught);
    assert.ok(mismatch instanceof QueryError, String(mismatch));
    const row = await firstValueFrom(pgm.query('SELECT 1 AS ok'));
    assert.equal(row.ok, 1);
    await pgm.close();
  });

  it('sends notices and query events on events$, without parameter values', async () => {
    const { pgm } = testManager();
    const events: DbEvent[] = [];
    const subscription = pgm.events$.subscribe((event) => events.push(event));
    await lastValueFrom(pgm.query("DO $$ BEGIN RAISE NOTICE 'hello %', 'notice'; END $$"), { defaultValue: null });
    await lastValueFrom(pgm.query('SELECT $1::text AS secret_param', ['do-not-log-me']));
    subscription.unsubscribe();
    const notice = events.find((event) => event.type === 'notice');
    assert.ok(notice && notice.type === 'notice');
    assert.equal(notice.message, 'hello notice');
    assert.equal(notice.severity, 'NOTICE');
    const query = events.filter((event) => event.type === 'query').at(-1);
    assert.ok(query && query.type === 'query');
    assert.equal(query.paramCount, 1);
    assert.equal(query.rowCount, 1);
    assert.ok(query.durationMillis >= 0);
    assert.ok(events.some((event) => event.type === 'connect'));
    assert.ok(events.some((event) => event.type === 'acquire'));
    assert.ok(events.some((event) => event.type === 'release'));
    assert.ok(!JSON.stringify(events).includes('do-not-log-me'));
    await pgm.close();
  });

  it('runs several statements without parameters in one text, as PgManager users do', async () => {
    const { pgm } = testManager();
    const rows = await lastValueFrom(pgm.query('SELECT 1 AS a; SELECT 2 AS b').pipe(toArray()));
    assert.deepEqual(rows.map((row) => row.toObject()), [{ a: 1 }, { b: 2 }]);
    await pgm.close();
  });

  it('prepares a statement text once per session and recovers when its plan goes stale', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const table = uniqueName('prep');
    await lastValueFrom(pgm.query(`CREATE TABLE ${table} (id int, v int)`), { defaultValue: null });
    for (let i = 0; i < 5; i++) await lastValueFrom(pgm.query(`SELECT * FROM ${table} WHERE id = $1`, [i]), { defaultValue: null });
    const prepared = await lastValueFrom(
      pgm.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements WHERE statement LIKE $1', [`%${table}%`]).pipe(toArray()),
    );
    assert.equal(prepared.length, 1, 'parsed once, bound five times');
    // A changed result type makes the server refuse the old plan once; the next run re-prepares.
    await lastValueFrom(pgm.query(`ALTER TABLE ${table} ADD COLUMN w int`), { defaultValue: null });
    const stale = await lastValueFrom(pgm.query(`SELECT * FROM ${table} WHERE id = $1`, [1]), { defaultValue: null }).catch((error: unknown) => error);
    // The server refuses the old plan once (its result type changed): a typed error, and the cache forgets it.
    assert.ok(stale instanceof QueryError, `the stale plan fails once: ${String(stale)}`);
    assert.equal(stale.sqlState, '0A000');
    const fresh = await lastValueFrom(pgm.query(`SELECT * FROM ${table} WHERE id = $1`, [1]).pipe(toArray()));
    assert.deepEqual(fresh, []);
    await lastValueFrom(pgm.query(`DROP TABLE ${table}`), { defaultValue: null });
    await pgm.close();
  });
});
