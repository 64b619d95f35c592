// createConn's `prepare` and `pooler` (issue #14, part 4) on the server itself, where
// pg_prepared_statements shows what a session prepared: named statements by default, none with
// `prepare: false` or `pooler: 'transaction'`; the reset after a changed lease skipped behind a
// transaction pooler; the options validated, and refused by MyManager.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, lastValueFrom, toArray } from 'rxjs';
import { ConfigurationError, PgManager, QueryError, type ConnOptions, type DbEvent } from '../src/index.js';
import { MyManager } from '../src/mysql.js';
import { PreparedStatements } from '../src/postgres/prepared-statements.js';
import { DATABASE_URL, uniqueName } from './support/database.js';
import { PgMessageCounter } from './support/pg-message-counter.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

/** What one lease prepared: runs a parameterised statement twice, then counts the session's prepared statements. */
async function preparedBy(options: Omit<ConnOptions, 'connectionString'>): Promise<number> {
  const pgm = new PgManager();
  pgm.createConn({ connectionString: DATABASE_URL, poolSize: 1, ...options });
  try {
    const rows = await lastValueFrom(
      pgm
        .connection('default', (conn) =>
          concat(conn.query('SELECT $1::int AS n', [1]), conn.query('SELECT $1::int AS n', [2]), conn.query('SELECT count(*)::int AS prepared FROM pg_prepared_statements')),
        )
        .pipe(toArray()),
    );
    assert.deepEqual(rows.slice(0, 2).map((row) => row.n), [1, 2]);
    return rows[2].prepared as number;
  } finally {
    await pgm.close();
  }
}

describe('prepare and pooler', () => {
  it('named statements by default (the control), none with prepare: false or pooler: transaction', async () => {
    assert.equal(await preparedBy({}), 1);
    assert.equal(await preparedBy({ prepare: true }), 1);
    assert.equal(await preparedBy({ prepare: false }), 0);
    assert.equal(await preparedBy({ pooler: 'transaction' }), 0);
    // A pooler that keeps prepared statements per client (PgBouncer ≥ 1.21 with max_prepared_statements) may have them back.
    assert.equal(await preparedBy({ pooler: 'transaction', prepare: true }), 1);
    assert.equal(await preparedBy({ pooler: 'session' }), 1);
  });

  it('behind a transaction pooler a lease that changed the session is not reset; without one it is (the control)', async () => {
    for (const pooler of ['none', 'transaction'] as const) {
      const pgm = new PgManager();
      pgm.createConn({ connectionString: DATABASE_URL, poolSize: 1, pooler, applicationName: uniqueName('rxpg_pooler') });
      const events: DbEvent[] = [];
      pgm.events$.subscribe((event) => events.push(event));
      try {
        await lastValueFrom(pgm.query("SELECT set_config('search_path', 'pg_catalog', false) AS path"));
        const { path } = await lastValueFrom(pgm.query<{ path: string }>("SELECT current_setting('search_path') AS path"));
        const release = events.find((event) => event.type === 'release');
        assert.ok(release !== undefined && release.type === 'release');
        if (pooler === 'none') {
          assert.match(release.sessionChange ?? '', /set_config/);
          assert.notEqual(path, 'pg_catalog', 'reset');
        } else {
          assert.equal(release.sessionChange, undefined);
          // On the server itself the setting stays: rxpg sent no reset (behind a pooler it would have hit any server connection).
          assert.equal(path, 'pg_catalog');
        }
      } finally {
        await pgm.close();
      }
    }
  });

  it('describes a named statement once: later runs read its rows without a RowDescription; one whose result changes fails and is parsed again', async () => {
    const table = uniqueName('rxpg_described');
    const admin = new PgManager();
    admin.createConn({ connectionString: DATABASE_URL, poolSize: 1 });
    await lastValueFrom(admin.command(`CREATE TABLE ${table} (id int PRIMARY KEY, label text, at date)`));
    await lastValueFrom(admin.command(`INSERT INTO ${table} VALUES (1, 'one', '2026-11-27'), (2, 'two', NULL)`));
    const proxy = await TcpProxy.start(databaseTarget());
    const messages = new PgMessageCounter();
    proxy.onServerChunk = (chunk, connection) => messages.feed(chunk, connection);
    const sql = `SELECT * FROM ${table} WHERE id = $1`;
    try {
      for (const prepare of [false, true]) {
        const pgm = new PgManager();
        pgm.createConn({ ...throughProxy(proxy), poolSize: 1, prepare });
        const described = messages.count('T');
        const rows = [];
        for (const id of [1, 2, 1]) rows.push(...(await lastValueFrom(pgm.query(sql, [id]).pipe(toArray()))));
        // Values parsed with the described shape: int, text, date (and NULL) on every run.
        assert.deepEqual(
          rows.map((row) => row.toObject()),
          [
            { id: 1, label: 'one', at: new Date(2026, 10, 27) },
            { id: 2, label: 'two', at: null },
            { id: 1, label: 'one', at: new Date(2026, 10, 27) },
          ],
        );
        assert.deepEqual(rows[2].keys(), ['id', 'label', 'at']);
        // Unnamed statements (the control) are described on every run.
        assert.equal(messages.count('T') - described, prepare ? 1 : 3, `RowDescriptions with prepare: ${prepare}`);
        if (prepare) {
          await lastValueFrom(admin.command(`ALTER TABLE ${table} ADD COLUMN extra int DEFAULT 7`));
          // The server refuses a prepared statement whose result would change: never rows read with the old shape.
          await assert.rejects(lastValueFrom(pgm.query(sql, [1])), (error: unknown) => error instanceof QueryError && error.sqlState === '0A000');
          const again = await lastValueFrom(pgm.query(sql, [1]));
          assert.deepEqual(again.toObject(), { id: 1, label: 'one', at: new Date(2026, 10, 27), extra: 7 });
        }
        await pgm.close();
      }
    } finally {
      await proxy.stop();
      await lastValueFrom(admin.command(`DROP TABLE ${table}`));
      await admin.close();
    }
  });

  it('keeps 128 statements per session and closes each one it evicts exactly once', async () => {
    const proxy = await TcpProxy.start(databaseTarget());
    const messages = new PgMessageCounter();
    proxy.onServerChunk = (chunk, connection) => messages.feed(chunk, connection);
    const pgm = new PgManager();
    pgm.createConn({ ...throughProxy(proxy), poolSize: 1 });
    try {
      const counted = await lastValueFrom(
        pgm
          .connection('default', (conn) =>
            concat(
              // 130 texts: the 129th evicts the first, the 130th the second; the same text again evicts nothing.
              ...Array.from({ length: 130 }, (_, index) => conn.query(`SELECT $1::int + ${index} AS n`, [1])),
              conn.query('SELECT $1::int + 129 AS n', [1]),
              conn.query('SELECT count(*)::int AS prepared FROM pg_prepared_statements'),
            ),
          )
          .pipe(toArray()),
      );
      assert.equal(counted.length, 132);
      assert.equal(counted[130].n, 130);
      assert.equal(counted[131].prepared, 128);
      // CloseComplete ('3'): one per evicted statement, never a second Close of the same name.
      assert.equal(messages.count('3'), 2);
    } finally {
      await pgm.close();
      await proxy.stop();
    }
  });

  it('evicts the statement used longest ago, not the one created first, and closes it before the next Parse', () => {
    const cache = new PreparedStatements();
    const first = Array.from({ length: 128 }, (_, index) => cache.use(`SELECT ${index}`));
    assert.ok(first.every((use) => !use.parsed && use.closeFirst.length === 0));
    // Text 0 used again: now text 1 is the oldest.
    const again = cache.use('SELECT 0');
    assert.equal(again.parsed, true);
    assert.equal(again.name, first[0].name);
    assert.equal(cache.use('SELECT 0'), again, 'a use with nothing to close is the same answer again');
    const newcomer = cache.use('SELECT 128');
    assert.deepEqual(newcomer.closeFirst, [first[1].name]);
    assert.equal(cache.use('SELECT 0').parsed, true, 'the text used again was evicted');
    // The evicted text is parsed again, and evicts the oldest now (text 2), closed first.
    const back = cache.use('SELECT 1');
    assert.equal(back.parsed, false);
    assert.deepEqual(back.closeFirst, [first[2].name]);
    assert.equal(cache.use('SELECT 3').parsed, true);
    // A forgotten statement is closed first by the next use, which is then an answer of its own.
    cache.forget('SELECT 3');
    const afterForget = cache.use('SELECT 0');
    assert.deepEqual(afterForget.closeFirst, [first[3].name]);
    assert.notEqual(afterForget, again);
    assert.equal(cache.use('SELECT 3').parsed, false);
  });

  it('validates the options and says how to fix them', () => {
    const pgm = new PgManager();
    assert.throws(() => pgm.createConn({ connectionString: DATABASE_URL, prepare: 'no' as never }), /prepare must be true or false, got "no"/);
    assert.throws(() => pgm.createConn({ connectionString: DATABASE_URL, pooler: 'transactions' as never }), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /pooler must be one of 'none', 'session', 'transaction', got "transactions"/);
      assert.match(error.message, /did you mean 'transaction'/i);
      return true;
    });
  });

  it('MyManager refuses them: they are Postgres options', () => {
    const my = new MyManager();
    assert.throws(() => my.createConn({ connectionString: 'mysql://root@127.0.0.1:3306/test', prepare: false }), /prepare is a Postgres option/);
    assert.throws(() => my.createConn({ connectionString: 'mysql://root@127.0.0.1:3306/test', pooler: 'transaction' }), /pooler is a Postgres option/);
  });
});
