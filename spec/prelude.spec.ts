// The driver seam's prelude contract, on each real driver: prelude statements run first as part
// of the statement; the first to fail is the statement's error and the statement does not run.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { firstValueFrom } from 'rxjs';
import { QueryError, type ConnectionParams, type Driver, type DriverConnection, type RunOptions } from '../src/index.js';
import { PostgresDriver } from '../src/postgres/postgres-driver.js';
import { MysqlDriver } from '../src/mysql.js';
import { BACKEND_NAMES, backendIt, backendSkip } from './support/backends.js';
import { DATABASE_URL } from './support/database.js';

function paramsOf(url: string, defaultPort: number, defaultUser: string): ConnectionParams {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || defaultPort),
    user: decodeURIComponent(parsed.username || defaultUser),
    password: decodeURIComponent(parsed.password) || undefined,
    database: parsed.pathname.slice(1),
    applicationName: 'rxpg_prelude_test',
    ssl: false,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    statementTimeoutMillis: 0,
    defaultIsolation: undefined,
    typeParsers: new Map(),
  };
}

type Outcome = { rows: unknown[][] } | { error: Error };

function run(connection: DriverConnection, sql: string, params: unknown[], options: RunOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const rows: unknown[][] = [];
    connection.run(sql, params, { row: (_shape, values) => rows.push(values), complete: () => resolve({ rows }), error: (error) => resolve({ error }) }, options);
  });
}

const backends: Record<'postgres' | 'mysql', { driver: () => Driver; params: () => ConnectionParams; p: (n: number) => string; begin: string; setFlag: (p: string) => string; readFlag: string }> = {
  postgres: {
    driver: () => new PostgresDriver(),
    params: () => paramsOf(DATABASE_URL, 5432, 'postgres'),
    p: (n) => `$${n}`,
    begin: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
    setFlag: (p) => `SELECT set_config('rxpg.ran', ${p}, false)`,
    readFlag: "SELECT current_setting('rxpg.ran', true)",
  },
  mysql: {
    driver: () => new MysqlDriver(),
    params: () => paramsOf(process.env.MYSQL_URL as string, 3306, 'root'),
    p: () => '?',
    begin: 'START TRANSACTION',
    setFlag: (p) => `SELECT @rxpg_ran := ${p}`,
    readFlag: 'SELECT @rxpg_ran',
  },
};

for (const name of BACKEND_NAMES) {
  describe(`statement prelude on ${name}`, () => {
    // Without this backend's server every test below is reported (and counted) as skipped.
    const it = backendIt(name);
    const backend = backends[name];
    let connection: DriverConnection;
    if (!backendSkip(name)) {
      before(async () => {
        connection = await firstValueFrom(backend.driver().connect(backend.params(), { onNotice: () => {}, onLost: () => {} }));
      });
      after(async () => {
        await firstValueFrom(connection.close(), { defaultValue: undefined });
      });
    }

    it('runs the prelude first, as part of the statement, with or without parameters', async () => {
      const withParams = await run(connection, `SELECT ${backend.p(1)} AS n`, [7], { prelude: [backend.begin] });
      assert.ok('rows' in withParams, String((withParams as { error?: unknown }).error));
      assert.equal(Number(withParams.rows[0][0]), 7, 'the prelude’s own result is not reported');
      assert.equal(connection.transactionStatus, 'transaction');
      assert.ok('rows' in (await run(connection, 'ROLLBACK', [])));
      const plain = await run(connection, 'SELECT 8 AS n', [], { prelude: [backend.begin] });
      assert.ok('rows' in plain);
      assert.deepEqual(plain.rows.map((row) => Number(row[0])), [8]);
      assert.equal(connection.transactionStatus, 'transaction');
      assert.ok('rows' in (await run(connection, 'ROLLBACK', [])));
    });

    it('reports the first failing prelude statement as the error, and does not run the statement', async () => {
      for (const params of [['yes'], []]) {
        const sql = backend.setFlag(params.length > 0 ? backend.p(1) : "'yes'");
        const outcome = await run(connection, sql, params, { prelude: ['BEGIN TRANSACTION BOGUS', backend.begin] });
        assert.ok('error' in outcome, 'the prelude failed');
        assert.ok(outcome.error instanceof QueryError, String(outcome.error));
        assert.equal(outcome.error.reason, 'syntax');
        assert.equal(outcome.error.statement, 'BEGIN TRANSACTION BOGUS');
        assert.equal(connection.transactionStatus, 'idle');
        const flag = await run(connection, backend.readFlag, []);
        assert.ok('rows' in flag);
        assert.ok(flag.rows[0][0] === null || flag.rows[0][0] === '', `the statement did not run (${String(flag.rows[0][0])})`);
      }
    });
  });
}
