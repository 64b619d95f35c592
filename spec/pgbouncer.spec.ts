// Behind PgBouncer in transaction mode (issue #14, part 4): a PgBouncer of the test's own in front of
// the test server, with fewer server connections (default_pool_size) than rxpg's pool has sessions,
// so every statement may land on a server connection another rxpg session prepared its statements
// on. Parameterised queries, transactions, savepoints, stream() and timeout must all run with no
// failed statement, with the default config (named statements, which rxpg must switch off by
// itself) and with `prepare: false`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMPTY, catchError, concatMap, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { ConfigurationError, PgManager, retryTransaction, type ConnOptions, type DbEvent, type RxpgError } from '../src/index.js';
import { DATABASE_URL, uniqueName } from './support/database.js';
import { pgbouncerSkip, startLocalPgBouncer, type LocalPgBouncer } from './support/local-pgbouncer.js';

const skip = pgbouncerSkip();
if (skip) console.log(`pgbouncer.spec: ${skip}`);

/** rxpg's pool: 8 sessions; PgBouncer's: 3 server connections, shared by them. */
const POOL_SIZE = 8;
const SERVER_CONNECTIONS = 3;
const CALLERS = 16;
const LOAD_MILLIS = 2000;

/**
 * Several statement texts, so sessions prepare them in different orders and, with names numbered
 * per session, one session's name could stand for another text on a shared server connection.
 * Each with the answer it must give for a value, so a statement bound to the wrong text is caught.
 */
const TEXTS: readonly (readonly [string, (value: number) => unknown])[] = [
  ['SELECT $1::int AS n', (value) => value],
  ['SELECT $1::int + 1 AS n', (value) => value + 1],
  ['SELECT $1::int * 2 AS n', (value) => value * 2],
  ["SELECT 'text ' || $1::text AS n", (value) => `text ${value}`],
  ['SELECT count(*)::int AS n FROM generate_series(1, $1::int)', (value) => value],
];

interface Load {
  readonly succeeded: number;
  readonly failed: number;
  readonly messages: ReadonlyMap<string, number>;
}

/** CALLERS callers, each running parameterised queries back to back for `millis`. */
async function load(pgm: PgManager, millis: number): Promise<Load> {
  const until = Date.now() + millis;
  let succeeded = 0;
  let failed = 0;
  const messages = new Map<string, number>();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      for (let round = 0; Date.now() < until; round++) {
        const [text, answer] = TEXTS[(caller + round) % TEXTS.length];
        const value = round % 7;
        try {
          const rows = await lastValueFrom(pgm.query<{ n: unknown }>(text, [String(value)]).pipe(toArray()));
          if (rows.length !== 1 || rows[0].n !== answer(value)) throw new Error(`wrong answer: ${text} with ${value} gave ${JSON.stringify(rows.map((row) => row.n))}`);
          succeeded++;
        } catch (error) {
          failed++;
          const text = (error as Error).message;
          const message = text.startsWith('wrong answer') ? 'wrong answer (bound to another text)' : text.replace(/"rxpg_\w+"/g, '"rxpg_N"');
          messages.set(message, (messages.get(message) ?? 0) + 1);
        }
      }
    }),
  );
  return { succeeded, failed, messages };
}

describe('behind PgBouncer in transaction mode', { skip, timeout: 120_000 }, () => {
  let bouncer: LocalPgBouncer;
  before(async () => {
    bouncer = await startLocalPgBouncer({ upstream: DATABASE_URL, poolMode: 'transaction', defaultPoolSize: SERVER_CONNECTIONS });
  });
  after(async () => {
    await bouncer?.stop();
  });

  const manager = (options: Omit<ConnOptions, 'connectionString'> = {}): { pgm: PgManager; events: DbEvent[] } => {
    const pgm = new PgManager();
    pgm.createConn({ connectionString: bouncer.url, poolSize: POOL_SIZE, applicationName: uniqueName('rxpg_bouncer'), ...options });
    const events: DbEvent[] = [];
    pgm.events$.subscribe((event) => events.push(event));
    return { pgm, events };
  };

  for (const prepare of [undefined, false] as const) {
    const label = prepare === undefined ? 'the default config (named statements)' : 'prepare: false';

    it(`${label}: ${CALLERS} callers on a pool of ${POOL_SIZE}, ${SERVER_CONNECTIONS} server connections, ${LOAD_MILLIS} ms of parameterised queries, no failure`, async (t) => {
      const { pgm, events } = manager(prepare === undefined ? {} : { prepare });
      try {
        const result = await load(pgm, LOAD_MILLIS);
        t.diagnostic(`${bouncer.version}, ${label}: ${result.succeeded} succeeded, ${result.failed} failed ${JSON.stringify([...result.messages])}`);
        assert.ok(result.succeeded > CALLERS * 10, `enough statements ran to share server connections: ${result.succeeded}`);
        assert.equal(result.failed, 0, `failed statements: ${JSON.stringify([...result.messages])}`);
        const switched = events.filter((event) => event.type === 'fallback' && event.feature === 'prepared-statements');
        if (prepare === false) assert.equal(switched.length, 0, 'nothing to switch with prepare: false');
        else {
          // Named statements collide at once on shared server connections: rxpg switches, once per config.
          assert.equal(switched.length, 1, JSON.stringify(switched));
          const event = switched[0] as Extract<DbEvent, { type: 'fallback' }>;
          assert.match(event.detail, /prepare: false/);
          assert.match(event.detail, /transaction pooler/);
        }
      } finally {
        await pgm.close();
      }
    });

    it(`${label}: transactions with savepoints, stream() and timeout from ${CALLERS} callers`, async () => {
      const { pgm } = manager(prepare === undefined ? {} : { prepare });
      const table = uniqueName('bouncer_tx');
      try {
        await lastValueFrom(pgm.command(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`));
        await lastValueFrom(pgm.command(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, ${CALLERS}) g`));
        const failures: string[] = [];
        await Promise.all(
          Array.from({ length: CALLERS }, async (_, caller) => {
            for (let round = 0; round < 8; round++) {
              try {
                // A transaction: its statements stay on one server connection until COMMIT.
                await lastValueFrom(
                  pgm
                    .transaction((tx) =>
                      tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1 RETURNING n`, [caller + 1]).pipe(
                        concatMap(() =>
                          tx
                            .savepoint((sp) => sp.query(`UPDATE ${table} SET n = n + 100 WHERE id = $1 AND 1 / $2::int = 1`, [caller + 1, 0]))
                            .pipe(catchError(() => EMPTY)),
                        ),
                        concatMap(() => tx.savepoint((sp) => sp.query(`SELECT n FROM ${table} WHERE id = $1`, [caller + 1]))),
                      ),
                    )
                    .pipe(retryTransaction({ maxAttempts: 3 }), toArray()),
                );
                // A cursor: Execute with Flush keeps the implicit transaction, and so the server connection.
                const streamed = await lastValueFrom(pgm.stream('SELECT g FROM generate_series(1, $1::int) g', [250], { batchSize: 100 }).pipe(toArray()));
                assert.equal(streamed.length, 250);
                // A timeout: set_config(…, true) rides in the statement's own Sync, so its own transaction.
                const timed = await lastValueFrom(pgm.query("SELECT current_setting('statement_timeout') AS t, $1::int AS n", [round], { timeout: 5000 }).pipe(toArray()));
                assert.equal(timed[0].t, '5s');
              } catch (error) {
                failures.push((error as Error).message);
              }
            }
          }),
        );
        assert.deepEqual(failures, []);
        const rows = await lastValueFrom(pgm.query<{ total: number }>(`SELECT sum(n)::int AS total, count(*)::int AS c FROM ${table}`).pipe(toArray()));
        // Every committed transaction added 1; the savepoint's +100 was rolled back each time.
        assert.equal(rows[0].total, CALLERS * 8);
        const expired = await lastValueFrom(pgm.query('SELECT pg_sleep($1::float8)', [2], { timeout: 200 })).catch((error: unknown) => error as RxpgError);
        assert.equal((expired as RxpgError).reason, 'statement_timeout', String(expired));
        // The server's limit lapsed with the statement's transaction: the next statement has none.
        const after = await lastValueFrom(pgm.query("SELECT current_setting('statement_timeout') AS t, $1::int AS n", [1]));
        assert.equal(after.t, '0');
      } finally {
        await lastValueFrom(pgm.command(`DROP TABLE IF EXISTS ${table}`)).catch(() => undefined);
        await pgm.close();
      }
    });
  }

  describe('a named statement its server connection lost (RECONNECT on the admin console makes every server connection new)', () => {
    const TEXT = 'SELECT $1::int + 40 AS n';
    /** A config whose one session prepared TEXT, on a server connection that PgBouncer then replaces. */
    const prepared = async (): Promise<{ pgm: PgManager; events: DbEvent[] }> => {
      const made = manager({ poolSize: 1 });
      for (let run = 0; run < 2; run++) assert.equal((await firstValueFrom(made.pgm.query<{ n: number }>(TEXT, [run]))).n, 40 + run);
      await bouncer.admin('RECONNECT');
      return made;
    };
    const switched = (events: DbEvent[]): DbEvent[] => events.filter((event) => event.type === 'fallback' && event.feature === 'prepared-statements');

    it('outside a transaction: the statement runs again unnamed and succeeds, with one warning event', async () => {
      const { pgm, events } = await prepared();
      try {
        assert.equal((await firstValueFrom(pgm.query<{ n: number }>(TEXT, [2]))).n, 42);
        assert.equal((await firstValueFrom(pgm.query<{ n: number }>(TEXT, [3]))).n, 43);
        assert.deepEqual(events.filter((event) => event.type === 'error'), []);
        assert.equal(switched(events).length, 1);
      } finally {
        await pgm.close();
      }
    });

    // With `pipeline`, statements wait in flight behind the first: each of them finds its name
    // missing, and none of them ran, so each runs again unnamed (behind the others still in flight).
    it('outside a transaction, with pipelined statements in flight: every one of them runs again unnamed and succeeds', async () => {
      const made = manager({ poolSize: 1, pipeline: 4 });
      const { pgm, events } = made;
      try {
        for (let run = 0; run < 2; run++) assert.equal((await firstValueFrom(pgm.query<{ n: number }>(TEXT, [run]))).n, 40 + run);
        await bouncer.admin('RECONNECT');
        const values = [2, 3, 4, 5, 6, 7];
        // With a time limit, as callers often set one (the clocks after a statement is sent again are
        // checked in virtual time in marbles/pipeline-requeue.spec.ts).
        const answers = await Promise.all(values.map(async (value) => (await firstValueFrom(pgm.query<{ n: number }>(TEXT, [value], { timeout: 5000 }))).n));
        assert.deepEqual(answers, values.map((value) => 40 + value));
        assert.ok(pgm.poolStats().pipelined >= 3, `the statements were pipelined (${pgm.poolStats().pipelined})`);
        assert.deepEqual(events.filter((event) => event.type === 'error'), []);
        assert.equal(switched(events).length, 1);
        assert.equal((await firstValueFrom(pgm.query<{ n: number }>(TEXT, [8]))).n, 48);
      } finally {
        await pgm.close();
      }
    });

    it('inside a transaction: a retryable error that says so, and retryTransaction() recovers', async () => {
      const { pgm, events } = await prepared();
      try {
        const failed = await lastValueFrom(pgm.transaction((tx) => tx.query(TEXT, [2]))).catch((error: unknown) => error as RxpgError);
        assert.ok(failed instanceof Error && 'sqlState' in failed, String(failed));
        assert.equal((failed as unknown as { sqlState: string }).sqlState, '26000');
        assert.equal(failed.isRetryable, true, failed.message);
        assert.match(failed.message, /transaction pooler/);
        assert.match(failed.message, /retryTransaction\(\)/);
        assert.equal(switched(events).length, 1);
        // The config sends unnamed statements now: the retry (and every later transaction) runs.
        const rows = await lastValueFrom(pgm.transaction((tx) => tx.query<{ n: number }>(TEXT, [3])).pipe(retryTransaction(), toArray()));
        assert.equal(rows[0].n, 43);
      } finally {
        await pgm.close();
      }
    });
  });

  it('a listen config with pooler: transaction fails with a typed error that says LISTEN needs a session or direct connection', async () => {
    const pgm = new PgManager();
    const refused = (make: () => void, from: RegExp): void =>
      assert.throws(make, (error: unknown) => {
        assert.ok(error instanceof ConfigurationError, String(error));
        assert.match(error.message, /LISTEN needs a session of its own/);
        assert.match(error.message, /session-mode pool or a direct connection/);
        assert.match(error.message, from);
        return true;
      });
    refused(() => pgm.createConnListen({ name: 'listen', connectionString: bouncer.url, pooler: 'transaction', channel: 'x' }), /\(pooler: 'transaction'\)/);
    // A listen config that copies a pooled config's address copies its pooler too…
    pgm.createConn({ name: 'pooled', connectionString: bouncer.url, pooler: 'transaction' });
    refused(() => pgm.createConnListen({ name: 'listen', copyDsn: 'pooled', channel: 'x' }), /from copyDsn 'pooled'/);
    // …unless it says otherwise, or points elsewhere (the controls).
    pgm.createConnListen({ name: 'listen', copyDsn: 'pooled', pooler: 'none', channel: 'x' });
    pgm.createConn({ name: 'fields', host: '127.0.0.1', port: bouncer.port, user: 'postgres', database: 'test', pooler: 'transaction' });
    pgm.createConnListen({ name: 'direct', copyDsn: 'fields', port: 5432, channel: 'x' });
    await pgm.close();
  });

  it('the LISTEN refusal does not touch a listen config without pooler (the control)', async () => {
    const pgm = new PgManager();
    pgm.createConnListen({ name: 'listen', connectionString: DATABASE_URL, channel: uniqueName('ch') });
    const status = await firstValueFrom(pgm.listenStatus$('listen'));
    assert.ok(status.state !== 'failed');
    await pgm.close();
  });
});
