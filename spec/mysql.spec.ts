// MySQL/MariaDB-only behaviour of MyManager; the shared behaviour is in backends.spec.ts.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { concat, lastValueFrom, map, reduce, timer } from 'rxjs';
import { ConfigurationError, ConnectionError } from '../src/index.js';
import { MyManager } from '../src/mysql.js';

const MYSQL_URL = process.env.MYSQL_URL;

describe('MyManager configuration (no database)', () => {
  it('rejects what MySQL has no use for, and never prints the password', () => {
    const mym = new MyManager();
    assert.throws(() => mym.createConn({ name: 'a', dsn: 'host=x' }), /dsn is libpq's format/);
    assert.throws(() => mym.createConn({ name: 'b', connectionString: 'postgres://x/y' }), /starts with mysql:\/\/ or mariadb:\/\//);
    assert.throws(() => mym.createConn({ name: 'c', host: 'x', typeParsers: { int8: BigInt } }), /typeParsers is not supported for MySQL/);
    assert.throws(() => mym.createConn({ name: 'd', connectionString: 'mysql://root:rxpg-test-secret-mysql@h:notaport/db' }), (error: unknown) =>
      error instanceof ConfigurationError && !error.message.includes('rxpg-test-secret-mysql'));
    mym.createConn({ name: 'e', connectionString: 'mysql://root:rxpg-test-secret-mysql@127.0.0.1:1/db' });
    assert.ok(!inspect(mym, { depth: 10 }).includes('rxpg-test-secret-mysql'));
    assert.throws(() => mym.transaction(() => [], { conn: 'e', deferrable: true }), /deferrable is a PostgreSQL option/);
  });

  it('reports a refused connection as a typed, retryable ConnectionError', async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: 'mysql://root:rxpg-test-secret-mysql@127.0.0.1:1/test' });
    const error = await lastValueFrom(mym.query('SELECT 1')).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.isRetryable, true);
    assert.ok(!String(error.stack).includes('rxpg-test-secret-mysql') && !error.message.includes('rxpg-test-secret-mysql'));
    await mym.close();
  });
});

describe('MyManager on MariaDB', { skip: MYSQL_URL ? false : 'no MySQL/MariaDB server (MYSQL_URL unset)' }, () => {
  it('streams 1M rows with bounded memory, also through a slow asynchronous stage', async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    const keys = ['heapUsed', 'external', 'arrayBuffers', 'rss'] as const;
    type Growth = Record<(typeof keys)[number], number>;
    const watch = () => {
      global.gc?.();
      const baseline = process.memoryUsage();
      const peak: Growth = { heapUsed: 0, external: 0, arrayBuffers: 0, rss: 0 };
      return {
        peak,
        sample: () => {
          const now = process.memoryUsage();
          for (const key of keys) peak[key] = Math.max(peak[key], now[key] - baseline[key]);
        },
      };
    };
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
    const fast = watch();
    const sum = await lastValueFrom(
      mym.stream<{ n: string }>('SELECT seq AS n FROM seq_1_to_1000000', [], { batchSize: 5000 }).pipe(
        reduce((total, row, index) => {
          if (index % 50_000 === 0) fast.sample();
          return total + Number(row.n);
        }, 0),
      ),
    );
    assert.equal(sum, 500000500000);
    const seenFast = keys.map((key) => `${key} +${mb(fast.peak[key])}`).join(', ');
    // A million rows held at once would take well over 100 MB of heap.
    assert.ok(fast.peak.heapUsed < 48 * 1048576 && fast.peak.rss < 96 * 1048576, `1M rows streamed in bounded memory (${seenFast})`);
    assert.ok(fast.peak.external < 32 * 1048576 && fast.peak.arrayBuffers < 32 * 1048576, `and bounded buffers (${seenFast})`);
    const slow = watch();
    let volume = 0;
    const batches = await lastValueFrom(
      mym.streamBatches<{ n: string; pad: string }, number>("SELECT seq AS n, REPEAT('x', 1500) AS pad FROM seq_1_to_100000", [], (rows) => {
        for (const row of rows) volume += row.pad.length + row.n.length;
        slow.sample();
        return timer(5).pipe(map(() => rows.length));
      }, { batchSize: 1000 }).pipe(
        reduce((count, size) => count + size, 0),
      ),
    );
    // Bounds a whole buffered result would break: the rows carry more than twice the largest.
    const bounds: Growth = { heapUsed: 40, external: 40, arrayBuffers: 40, rss: 64 };
    const seenSlow = keys.map((key) => `${key} +${mb(slow.peak[key])}`).join(', ');
    assert.ok(volume > 2 * 64 * 1048576, `positive control: the rows carry ${mb(volume)}, far more than the bounds`);
    for (const key of keys) assert.ok(slow.peak[key] < bounds[key] * 1048576, `${key} grew past ${bounds[key]} MB while ${mb(volume)} went through a slow stage (${seenSlow})`);
    assert.equal(batches, 100_000);
    await mym.close();
  });

  it('runs isolation levels and read-only transactions', async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, isolationLevel: 'serializable' });
    const level = await lastValueFrom(mym.transaction((tx) => tx.query('SELECT @@tx_isolation AS level')));
    assert.equal(level.level, 'SERIALIZABLE');
    const table = `ro_check_${process.pid}`;
    await lastValueFrom(mym.query(`CREATE TABLE ${table} (id int)`), { defaultValue: null });
    const readOnly = await lastValueFrom(mym.transaction((tx) => tx.query(`INSERT INTO ${table} VALUES (1)`), { readOnly: true, isolationLevel: 'read_committed' }), { defaultValue: null }).catch(
      (error: unknown) => error,
    );
    assert.ok(readOnly instanceof Error && /READ ONLY/i.test(readOnly.message), `a read-only transaction refuses writes: ${String(readOnly)}`);
    await lastValueFrom(mym.query(`DROP TABLE ${table}`), { defaultValue: null });
    await mym.close();
  });

  it('gives every BIGINT as an exact string, through the text and the binary protocol alike', async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    // A table of its own, not a temporary one: a lease that creates a temporary table gets its
    // session closed when it comes back (its state could not be reset in place).
    const table = `rxpg_bigints_${process.pid}_${Date.now().toString(36)}`;
    await lastValueFrom(mym.query(`CREATE TABLE ${table} (small BIGINT, big BIGINT, umax BIGINT UNSIGNED, plain INT)`), { defaultValue: null });
    await lastValueFrom(mym.query(`INSERT INTO ${table} VALUES (12, 9007199254740993, 18446744073709551615, 7)`), { defaultValue: null });
    const sql = `SELECT small, big, umax, plain, COUNT(*) AS n FROM ${table}`;
    const expected = { small: '12', big: '9007199254740993', umax: '18446744073709551615', plain: 7, n: '1' };
    const text = await lastValueFrom(mym.query(sql));
    const binary = await lastValueFrom(mym.query(`${sql} WHERE plain = ?`, [7]));
    const streamed = await lastValueFrom(mym.stream(sql, [], { batchSize: 10 }));
    await lastValueFrom(mym.query(`DROP TABLE ${table}`), { defaultValue: null });
    for (const [name, row] of Object.entries({ text, binary, streamed })) assert.deepEqual(row.toObject(), expected, name);
    await mym.close();
  });

  it('streams a statement the binary protocol cannot prepare through the text protocol', async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    // EXECUTE cannot itself be prepared (errno 1295): the stream falls back to a plain query.
    // One lease: a PREPARE is session state, which never outlives the lease that made it.
    const rows = await lastValueFrom(
      mym
        .connection(undefined, (conn) => concat(conn.query("PREPARE rxpg_answer FROM 'SELECT 41 + 1 AS answer'"), conn.stream<{ answer: number }>('EXECUTE rxpg_answer', [], { batchSize: 10 })))
        .pipe(map((row) => Number(row.answer)), reduce((all, value) => [...all, value], [] as number[])),
    );
    assert.deepEqual(rows, [42]);
    await mym.close();
  });
});
