// A lease hands the next caller a session in the state its config defines: what one lease's
// statements change (role, settings, temporary tables, locks, LISTENs, prepared statements,
// cursors) is undone before the session is leased again, and nothing is sent when nothing
// changed. This is a security property: SET ROLE must never reach an unrelated query.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { PgManager, type DbEvent, type ReleaseEvent } from '../src/index.js';
import { MyManager } from '../src/mysql.js';
import { testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { PgMessageCounter } from './support/pg-message-counter.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

const role = uniqueName('rx_reset_role');
const otherUser = uniqueName('rx_reset_user');

/** The release events of `pgm` while `run` runs. */
async function releasesDuring(pgm: PgManager | MyManager, run: () => Promise<unknown>): Promise<ReleaseEvent[]> {
  const releases: ReleaseEvent[] = [];
  const events = pgm.events$.subscribe((event: DbEvent) => {
    if (event.type === 'release') releases.push(event);
  });
  try {
    await run();
    await waitFor(() => pgm.poolState().inUse === 0, 'every lease came back');
  } finally {
    events.unsubscribe();
  }
  return releases;
}

describe('session state between leases (Postgres)', () => {
  const admin = useAdminClient({
    setup: (client) => client.query(`CREATE ROLE ${role} NOLOGIN; CREATE ROLE ${otherUser} LOGIN`),
    teardown: (client) => client.query(`DROP ROLE ${role}; DROP ROLE ${otherUser}`),
  });

  it('SET ROLE, SET SESSION AUTHORIZATION and set_config(role) in one lease do not reach the next one', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const who = async () => firstValueFrom(pgm.query<{ current_user: string; session_user: string; pid: number }>('SELECT current_user, session_user, pg_backend_pid() AS pid'));
    const before = await who();
    assert.deepEqual([before.current_user, before.session_user], ['postgres', 'postgres']);

    // Positive control: inside the lease the role really changed.
    const inside = await lastValueFrom(pgm.connection(undefined, (conn) => concat(conn.query(`SET ROLE ${role}`), conn.query('SELECT current_user'))));
    assert.equal(inside.get(0), role, 'SET ROLE took effect inside its lease');
    let after = await who();
    assert.deepEqual([after.current_user, after.session_user, after.pid], ['postgres', 'postgres', before.pid], 'the same session, back as postgres');

    await lastValueFrom(pgm.query(`SET ROLE ${role}`), { defaultValue: null });
    after = await who();
    assert.equal(after.current_user, 'postgres', 'a SET ROLE run by query() alone is undone too');

    const authorized = await lastValueFrom(pgm.connection(undefined, (conn) => concat(conn.query(`SET SESSION AUTHORIZATION ${otherUser}`), conn.query('SELECT session_user'))));
    assert.equal(authorized.get(0), otherUser, 'SET SESSION AUTHORIZATION took effect inside its lease');
    after = await who();
    assert.deepEqual([after.current_user, after.session_user, after.pid], ['postgres', 'postgres', before.pid]);

    const viaFunction = await firstValueFrom(pgm.query<{ now: string }>('SELECT set_config($1, $2, false) AS now', ['role', role]));
    assert.equal(viaFunction.now, role);
    after = await who();
    assert.equal(after.current_user, 'postgres', 'a role set by set_config() in a SELECT is undone');
    assert.equal(after.pid, before.pid, 'reset in place, not by replacing the session');
    await pgm.close();
  });

  it('settings a lease changed are back to the config’s, and initStatement runs again', async () => {
    const { pgm, app } = testManager({ poolSize: 1, statementTimeout: 4321, initStatement: 'SET search_path TO rx_from_init, public' });
    const settings = async () =>
      firstValueFrom(
        pgm.query<{ search_path: string; application_name: string; timezone: string; statement_timeout: string; datestyle: string }>(
          "SELECT current_setting('search_path') AS search_path, current_setting('application_name') AS application_name, " +
            "current_setting('TimeZone') AS timezone, current_setting('statement_timeout') AS statement_timeout, current_setting('DateStyle') AS datestyle",
        ),
      );
    const configured = await settings();
    assert.deepEqual([configured.search_path, configured.application_name, configured.statement_timeout], ['rx_from_init, public', app, '4321ms']);
    const changed = await lastValueFrom(
      pgm
        .connection(undefined, (conn) =>
          concat(
            conn.query("SET search_path = elsewhere; SET application_name = 'leaked'; SET TimeZone = 'Pacific/Chatham'"),
            conn.query('SET statement_timeout = 7'),
            conn.query("SELECT set_config('DateStyle', 'SQL, DMY', false)"),
            conn.query("SELECT current_setting('search_path'), current_setting('application_name'), current_setting('statement_timeout')"),
          ),
        )
        .pipe(toArray()),
    );
    assert.deepEqual(changed.at(-1)?.toArray(), ['elsewhere', 'leaked', '7ms'], 'positive control: the lease changed them');
    assert.deepEqual(await settings(), configured, 'the next lease sees the config’s settings and initStatement’s search_path');
    await pgm.close();
  });

  it('temporary tables, advisory locks, LISTENs, prepared statements and held cursors of a lease are gone when it comes back', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
    const advisoryLocks = async () =>
      Number((await admin.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", [pid])).rows[0].count);
    const held = pgm
      .connection(undefined, (conn) =>
        concat(
          conn.query('CREATE TEMP TABLE rx_leftover (n int)'),
          conn.query('SELECT pg_advisory_lock(4242)'),
          conn.query(`LISTEN ${uniqueName('rx_reset_channel')}`),
          conn.query('PREPARE rx_user_statement AS SELECT 1'),
          conn.query('DECLARE rx_held CURSOR WITH HOLD FOR SELECT 1'),
          // Holds the lease until the checks below have seen the state from outside.
          conn.query('SELECT pg_sleep(0.3)'),
        ),
      )
      .subscribe();
    await waitFor(async () => (await advisoryLocks()) === 1, 'positive control: the lease holds its advisory lock');
    await waitFor(() => pgm.poolState().inUse === 0, 'the lease came back', 5000);
    held.unsubscribe();
    assert.equal(await advisoryLocks(), 0, 'the advisory lock was released with the lease');
    const left = await firstValueFrom(
      pgm.query<{ pid: number; temp: string | null; listening: string; prepared: string; cursors: string }>(
        "SELECT pg_backend_pid() AS pid, to_regclass('pg_temp.rx_leftover')::text AS temp, (SELECT count(*) FROM pg_listening_channels()) AS listening, " +
          "(SELECT count(*) FROM pg_prepared_statements WHERE name = 'rx_user_statement') AS prepared, (SELECT count(*) FROM pg_cursors) AS cursors",
      ),
    );
    assert.deepEqual({ ...left.toObject() }, { pid, temp: null, listening: '0', prepared: '0', cursors: '0' });
    await pgm.close();
  });

  it('keeps rxpg’s own prepared statements working after the user runs DEALLOCATE ALL or DISCARD ALL', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    for (const discard of ['DEALLOCATE ALL', 'DISCARD ALL']) {
      const rows = await lastValueFrom(
        pgm
          .connection(undefined, (conn) => concat(conn.query('SELECT $1::int AS n', [1]), conn.query(discard), conn.query('SELECT $1::int AS n', [2])))
          .pipe(toArray()),
      );
      assert.deepEqual(rows.map((row) => row.n), [1, 2], `the same statement runs again in the lease after ${discard}`);
      const next = await firstValueFrom(pgm.query<{ n: number }>('SELECT $1::int AS n', [3]));
      assert.equal(next.n, 3, `and in the next lease after ${discard}`);
    }
    await pgm.close();
  });

  it('sends nothing extra for a lease that changed nothing, and one round trip to reset one that did', async () => {
    const proxy = await TcpProxy.start(databaseTarget());
    const messages = new PgMessageCounter();
    proxy.onServerChunk = (chunk, connection) => messages.feed(chunk, connection);
    const pgm = new PgManager();
    pgm.createConn({ ...throughProxy(proxy), poolSize: 1 });
    await firstValueFrom(pgm.query('SELECT 1'));
    const roundTrips = async (run: () => Promise<unknown>) => {
      const before = messages.count('Z');
      const releases = await releasesDuring(pgm, run);
      return { trips: messages.count('Z') - before, releases };
    };

    const plain = await roundTrips(async () => {
      await firstValueFrom(pgm.query('SELECT $1::int', [1]));
      await lastValueFrom(pgm.transaction((tx) => tx.query('SELECT 2'), { isolationLevel: 'serializable' }));
      await lastValueFrom(pgm.stream('SELECT generate_series(1, 10)', [], { batchSize: 3 }));
    });
    let inside: unknown;
    const local = await roundTrips(async () => {
      const rows = await lastValueFrom(pgm.transaction((tx) => concat(tx.query("SET LOCAL app.user_id = '42'"), tx.query("SELECT current_setting('app.user_id') AS id"))).pipe(toArray()));
      inside = rows.at(-1)?.id;
    });
    assert.equal(inside, '42', 'positive control: the SET LOCAL held inside its transaction');
    // (A setting the server reports, such as application_name, still counts: its ParameterStatus does.)
    assert.deepEqual(local.releases.map((release) => release.sessionChange), [undefined], 'a SET LOCAL ends with its transaction: no reset');
    const after = await firstValueFrom(pgm.query<{ id: string | null }>("SELECT current_setting('app.user_id', true) AS id"));
    assert.ok(after.id === null || after.id === '', `and nothing of it is left (got ${String(after.id)})`);
    // The query; BEGIN, then SELECT 2 (no parameters: the simple protocol, which cannot share a
    // pipeline), COMMIT; the stream.s Sync.
    assert.deepEqual(plain.releases.map((release) => release.sessionChange), [undefined, undefined, undefined]);
    assert.equal(plain.trips, 5, 'no reset statement for leases that changed nothing');
    assert.deepEqual(plain.releases.map((release) => release.sessionChange), [undefined, undefined, undefined]);

    const changed = await roundTrips(() => lastValueFrom(pgm.query("SET application_name = 'x'"), { defaultValue: null }));
    assert.equal(changed.trips, 2, 'the SET, then one reset');
    assert.deepEqual(
      changed.releases.map(({ reason, discarded, sessionChange }) => ({ reason, discarded, sessionChange })),
      [{ reason: 'pooled', discarded: false, sessionChange: 'SET' }],
    );
    await pgm.close();
    await proxy.stop();
  });
});

const MYSQL_URL = process.env.MYSQL_URL;

describe('session state between leases (MySQL/MariaDB)', { skip: MYSQL_URL ? false : 'no MySQL/MariaDB server (MYSQL_URL unset)' }, () => {
  const myManager = () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    return mym;
  };
  const connectionId = async (mym: MyManager) => (await firstValueFrom(mym.query<{ id: number }>('SELECT CONNECTION_ID() AS id'))).id;

  it('a changed session is replaced: user variables, session settings, temporary tables and named locks never reach the next lease', async () => {
    const mym = myManager();
    const lock = uniqueName('rx_lock');
    const temporary = uniqueName('rx_leftover');
    const first = await connectionId(mym);
    const releases = await releasesDuring(mym, async () => {
      const inside = await lastValueFrom(
        mym
          .connection(undefined, (conn) =>
            concat(
              conn.query('SET @rx_total = 42'),
              conn.query("SET SESSION sql_mode = 'ANSI_QUOTES'"),
              conn.query(`CREATE TEMPORARY TABLE ${temporary} (n int)`),
              conn.query('SELECT GET_LOCK(?, 0) AS got', [lock]),
              conn.query('SELECT @rx_total AS total, @@SESSION.sql_mode AS mode, CONNECTION_ID() AS id'),
            ),
          )
          .pipe(toArray()),
      );
      assert.deepEqual([inside.at(-1)?.total, inside.at(-1)?.mode, inside.at(-1)?.id], ['42', 'ANSI_QUOTES', first], 'positive control: the lease changed them');
    });
    assert.deepEqual(
      releases.map(({ reason, discarded }) => ({ reason, discarded })),
      [{ reason: 'session_changed', discarded: true }],
    );
    assert.match(releases[0].sessionChange ?? '', /SET @rx_total = 42/);
    const next = await firstValueFrom(
      mym.query<{ total: unknown; mode: string; locked: unknown; id: number }>('SELECT @rx_total AS total, @@SESSION.sql_mode AS mode, IS_USED_LOCK(?) AS locked, CONNECTION_ID() AS id', [
        lock,
      ]),
    );
    assert.notEqual(next.id, first, 'a new session');
    assert.deepEqual([next.total, next.locked], [null, null]);
    await assert.rejects(lastValueFrom(mym.query(`SELECT * FROM ${temporary}`)), /doesn't exist/, 'the temporary table is gone');
    assert.notEqual(next.mode, 'ANSI_QUOTES');
    await mym.close();
  });

  it('keeps a session whose statements changed nothing: transactions with an isolation level, literals with an @', async () => {
    const mym = myManager();
    const table = uniqueName('rx_reset');
    await lastValueFrom(mym.query(`CREATE TABLE ${table} (n int)`), { defaultValue: null });
    const first = await connectionId(mym);
    const releases = await releasesDuring(mym, async () => {
      await lastValueFrom(mym.transaction((tx) => tx.query('SELECT 1'), { isolationLevel: 'serializable' }));
      await lastValueFrom(mym.query("SELECT 'someone@example.com' AS email, @@SESSION.sql_mode AS mode"));
      await lastValueFrom(mym.query(`UPDATE ${table} SET n = ? WHERE n = 0`, [2]), { defaultValue: null });
    });
    await lastValueFrom(mym.query(`DROP TABLE ${table}`), { defaultValue: null });
    assert.deepEqual(releases.map(({ reason, sessionChange }) => ({ reason, sessionChange })), [
      { reason: 'pooled', sessionChange: undefined },
      { reason: 'pooled', sessionChange: undefined },
      { reason: 'pooled', sessionChange: undefined },
    ]);
    assert.equal(await connectionId(mym), first, 'the same session throughout');
    await mym.close();
  });
});
