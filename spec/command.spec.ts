// Statements run for their effect (UPDATE, DELETE, DDL): command() emits one summary with the
// command tag and the row count, on the manager and on the scope handles, on both backends; and
// COPY, whose data query() cannot carry, is refused with a typed error on a session that stays
// usable.
import assert from 'node:assert/strict';
import { after, before, describe, it as plainIt } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, toArray, type Observable } from 'rxjs';
import { QueryError, type CommandResult } from '../src/index.js';
import { BACKEND_NAMES, backendIt, backendSkip, openBackend, type Backend } from './support/backends.js';
import { testManager, uniqueName, useAdminClient } from './support/database.js';

for (const name of BACKEND_NAMES) {
  describe(`command() on ${name}`, () => {
    const it = backendIt(name);
    let backend: Backend;
    let table: string;
    if (!backendSkip(name)) {
      before(async () => {
        backend = await openBackend(name);
        table = uniqueName('command');
        await backend.admin(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
        await backend.admin(`INSERT INTO ${table} (id, v) VALUES (1, 0), (2, 0), (3, 0), (4, 1)`);
      });
      after(async () => {
        await backend.admin(`DROP TABLE ${table}`);
        await backend.end();
      });
    }

    it('emits one summary with the command and the rows affected, and completes', async () => {
      const { db } = backend.manager();
      const p = backend.param;
      const results = await lastValueFrom(db.command(`UPDATE ${table} SET v = v + 1 WHERE v = ${p(1)}`, [0]).pipe(toArray()));
      assert.deepEqual(results, [{ command: 'UPDATE', rowCount: 3 }]);
      // The idiom the issue asked for: firstValueFrom of a row-less statement no longer throws EmptyError.
      const none: CommandResult = await firstValueFrom(db.command(`DELETE FROM ${table} WHERE id = ${p(1)}`, [99]));
      assert.deepEqual(none, { command: 'DELETE', rowCount: 0 });
      const inserted = await firstValueFrom(db.command(`INSERT INTO ${table} (id, v) VALUES (5, 0), (6, 0)`));
      assert.deepEqual(inserted, { command: 'INSERT', rowCount: 2 });
      assert.deepEqual(await firstValueFrom(db.command(`DELETE FROM ${table} WHERE id IN (5, 6)`)), { command: 'DELETE', rowCount: 2 });
      await db.close();
    });

    it('runs on a transaction and a connection handle, and its error is the statement’s', async () => {
      const { db } = backend.manager({ poolSize: 1 });
      const p = backend.param;
      const inTx = await lastValueFrom(
        db.transaction((tx) => concat(tx.command(`UPDATE ${table} SET v = 10 WHERE id = ${p(1)}`, [1]), tx.command(`UPDATE ${table} SET v = 10 WHERE id > 100`))).pipe(toArray()),
      );
      assert.deepEqual(inTx, [{ command: 'UPDATE', rowCount: 1 }, { command: 'UPDATE', rowCount: 0 }]);
      const onConn = await lastValueFrom(db.connection('default', (conn) => conn.command(`DELETE FROM ${table} WHERE id = ${p(1)}`, [1])).pipe(toArray()));
      assert.deepEqual(onConn, [{ command: 'DELETE', rowCount: 1 }]);
      const failed = await lastValueFrom(db.command(`UPDATE no_such_table_${process.pid} SET v = 1`)).catch((error: unknown) => error);
      assert.ok(failed instanceof QueryError && failed.reason === 'undefined_object', String(failed));
      // The pool's one session is back and serves.
      assert.deepEqual(await firstValueFrom(db.command(`UPDATE ${table} SET v = 0 WHERE id = 2`)), { command: 'UPDATE', rowCount: 1 });
      await db.close();
    });
  });
}

describe('command() and COPY on postgres', () => {
  const table = uniqueName('copy');
  const admin = useAdminClient({
    setup: (client) => client.query(`CREATE TABLE ${table} (a int)`),
    teardown: (client) => client.query(`DROP TABLE ${table}`),
  });

  plainIt('a command without a row count says null, never NaN', async () => {
    const { pgm } = testManager();
    const temp = uniqueName('tmp');
    assert.deepEqual(await firstValueFrom(pgm.command(`CREATE TEMP TABLE ${temp} (a int)`)), { command: 'CREATE', rowCount: null });
    // A SELECT's rows are counted, not kept.
    assert.deepEqual(await firstValueFrom(pgm.command('SELECT generate_series(1, 4)')), { command: 'SELECT', rowCount: 4 });
    await pgm.close();
  });

  const copyCases: { label: string; sql: string; direction: RegExp; run: 'query' | 'stream' | 'command'; timeout?: number }[] = [
    { label: 'COPY TO STDOUT through query()', sql: 'COPY (SELECT 1) TO STDOUT', direction: /TO STDOUT/, run: 'query' },
    { label: 'COPY TO STDOUT through query() with a timeout (extended protocol)', sql: 'COPY (SELECT 1) TO STDOUT', direction: /TO STDOUT/, run: 'query', timeout: 5000 },
    { label: 'COPY TO STDOUT through stream()', sql: 'COPY (SELECT 1) TO STDOUT', direction: /TO STDOUT/, run: 'stream' },
    { label: 'COPY TO STDOUT of no rows through command()', sql: 'COPY (SELECT 1 WHERE false) TO STDOUT', direction: /TO STDOUT/, run: 'command' },
    { label: 'COPY FROM STDIN through query()', sql: `COPY ${table} FROM STDIN`, direction: /FROM STDIN/, run: 'query' },
    { label: 'COPY FROM STDIN through query() with a timeout (extended protocol)', sql: `COPY ${table} FROM STDIN`, direction: /FROM STDIN/, run: 'query', timeout: 5000 },
    { label: 'COPY FROM STDIN through stream()', sql: `COPY ${table} FROM STDIN`, direction: /FROM STDIN/, run: 'stream' },
  ];
  for (const { label, sql, direction, run, timeout } of copyCases) {
    plainIt(`${label} is refused with a QueryError that points at copyTo() or copyFrom(), and the session serves the next statement`, async () => {
      const { pgm } = testManager({ poolSize: 1 });
      const pids = new Set<number>();
      pgm.events$.subscribe((event) => event.type === 'connect' && pids.add(event.processId));
      const options = timeout === undefined ? {} : { timeout };
      const source: Observable<unknown> = run === 'command' ? pgm.command(sql, [], options) : run === 'stream' ? pgm.stream(sql, [], options) : pgm.query(sql, [], options);
      const started = Date.now();
      const error = await lastValueFrom(source.pipe(toArray())).catch((caught: unknown) => caught);
      assert.ok(Date.now() - started < 3000, `answered at once, not after a timeout (${Date.now() - started} ms)`);
      assert.ok(error instanceof QueryError, `an error, not rows or silence: ${String(error)}`);
      assert.equal(error.reason, 'unsupported');
      assert.equal(error.statement, sql);
      assert.match(error.message, direction);
      // It says which method runs the COPY instead.
      assert.match(error.message, direction.source === 'TO STDOUT' ? /Run it with copyTo\(\)/ : /Run it with copyFrom\(sql, source\$\)/);
      const after = await firstValueFrom(pgm.query<{ one: number }>('SELECT 1 AS one'));
      assert.equal(after.one, 1);
      assert.equal(pids.size, 1, 'the same session served the next statement');
      assert.equal(Number((await admin.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n), 0, 'nothing was copied in');
      await pgm.close();
    });
  }

  plainIt('COPY FROM STDIN with a timeout inside a transaction (a restore follows it in the pipeline) fails the transaction alone', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const failed = await lastValueFrom(
      pgm.transaction((tx) => concat(tx.query('SELECT 1'), tx.query(`COPY ${table} FROM STDIN`, [], { timeout: 5000 }))),
      { defaultValue: null },
    ).catch((caught: unknown) => caught);
    assert.ok(failed instanceof QueryError && failed.reason === 'unsupported', String(failed));
    // Each next statement gets its own answer: no stray ReadyForQuery ends one early.
    for (let n = 1; n <= 3; n++) {
      const rows = await lastValueFrom(pgm.query<{ n: number }>('SELECT $1::int AS n FROM generate_series(1, $1::int)', [n]).pipe(toArray()));
      assert.deepEqual(rows.map((row) => row.n), Array(n).fill(n));
    }
    await pgm.close();
  });

  plainIt('COPY to and from a server-side file is an ordinary command', async () => {
    const { pgm } = testManager();
    // COPY … TO PROGRAM needs superuser, as the test server's postgres is; 'cat > /dev/null' writes nowhere.
    assert.deepEqual(await firstValueFrom(pgm.command(`COPY (SELECT 1 UNION ALL SELECT 2) TO PROGRAM 'cat > /dev/null'`)), { command: 'COPY', rowCount: 2 });
    await pgm.close();
  });
});
