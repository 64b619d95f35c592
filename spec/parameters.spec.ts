// One rule for parameters on every backend, at the client and typed: a value no backend can bind
// meaningfully is refused before anything is sent; a value the client library itself refuses is
// the statement's typed error, never a crash.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { defer, firstValueFrom, lastValueFrom } from 'rxjs';
import { ConfigurationError, PostgresDriver, QueryError, type DbManager } from '../src/index.js';
import { MysqlDriver } from '../src/mysql.js';
import { DATABASE_URL } from './support/database.js';
import { openDriverConnection } from './support/driver-connection.js';
import { BACKEND_NAMES, backendIt, backendSkip, openBackend, type Backend } from './support/backends.js';

const UNBINDABLE: [string, unknown, RegExp][] = [
  ['undefined', undefined, /Parameter 2 of 2 is undefined: pass null for SQL NULL/],
  ['a symbol', Symbol('x'), /Parameter 2 of 2 is a symbol/],
  ['a function', () => 1, /Parameter 2 of 2 is a function/],
  ['an invalid Date', new Date('not a date'), /Parameter 2 of 2 is an invalid Date/],
  ['an array holding undefined', [1, undefined], /Parameter 2 of 2 is an array whose element is undefined/],
];

for (const name of BACKEND_NAMES) {
  describe(`parameters on ${name}`, () => {
    const it = backendIt(name);
    let backend: Backend;
    let db: DbManager;
    if (!backendSkip(name)) {
      before(async () => {
        backend = await openBackend(name);
        db = backend.manager({ poolSize: 1 }).db;
      });
      after(async () => {
        await db.close();
        await backend.end();
      });
    }

    it('refuses unbindable values at once with a ConfigurationError naming the parameter, in query, stream and a transaction', async () => {
      const sql = `SELECT ${backend.param(1)} AS a, ${backend.param(2)} AS b`;
      for (const [what, value, message] of UNBINDABLE) {
        for (const call of [() => db.query(sql, [1, value]), () => db.stream(sql, [1, value])]) {
          assert.throws(call, (error: unknown) => error instanceof ConfigurationError && message.test(error.message), what);
        }
        const inTransaction = await lastValueFrom(db.transaction((tx) => defer(() => tx.query(sql, [1, value])))).catch((error: unknown) => error);
        assert.ok(inTransaction instanceof ConfigurationError && message.test(inTransaction.message), `${what} in a transaction: ${String(inTransaction)}`);
      }
      // Positive control: the same statement with bindable values runs, and null is NULL.
      const row = await firstValueFrom(db.query<{ a: unknown; b: unknown }>(sql, [1, null]));
      assert.deepEqual([String(row.a), row.b], ['1', null]);
    });

    it('a value the client library refuses is the statement’s typed error through the seam, never a throw, and the session goes on', async () => {
      const driver = name === 'postgres' ? new PostgresDriver() : new MysqlDriver();
      const { connection } = await openDriverConnection(driver, name === 'postgres' ? DATABASE_URL : (process.env.MYSQL_URL as string), 'rxpg_params');
      const run = (sql: string, values: unknown[]): Promise<unknown[][] | Error> =>
        new Promise((resolve) => {
          const rows: unknown[][] = [];
          connection.run(sql, values, { row: (_shape, row) => rows.push(row), complete: () => resolve(rows), error: resolve });
        });
      // Below the manager's check: pg's serialiser throws on this value, mysql2's execute() on undefined.
      const refused = name === 'postgres' ? { toPostgres: () => { throw new Error('refused by toPostgres'); } } : undefined;
      const outcome = await run(`SELECT ${backend.param(1)} AS a`, [refused]);
      assert.ok(outcome instanceof QueryError, `typed: ${String(outcome)}`);
      assert.equal(outcome.reason, 'data');
      assert.match(outcome.message, /a parameter could not be sent/);
      assert.deepEqual((await run(`SELECT ${backend.param(1)} AS a`, [7])) as unknown[][], [[name === 'postgres' ? '7' : 7]]);
      await lastValueFrom(connection.close(), { defaultValue: undefined });
    });
  });
}
