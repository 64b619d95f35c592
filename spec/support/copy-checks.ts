import assert from 'node:assert/strict';
import type pg from 'pg';
import { firstValueFrom, Subject } from 'rxjs';
import type { CopyFromOptions, PgManager } from '../../src/index.js';
import { testManager, uniqueName, useAdminClient, waitFor } from './database.js';

/** What the COPY specs check on the server, with an admin client of the surrounding suite. */
export interface CopyChecks {
  readonly admin: pg.Client;
  /** A new table of `columns` under a unique name, dropped after the suite. */
  table(columns: string): Promise<string>;
  countOf(name: string): Promise<number>;
  /** The app's sessions as the server shows them, with what they run. */
  activity(app: string): Promise<{ pid: number; state: string; query: string }[]>;
  /** Whether a session of the app runs a COPY. */
  copyRunning(app: string): Promise<boolean>;
  /** After an abort: the one session is idle on the server (no COPY running), pooled, and serves the next statement itself. */
  expectCleanSession(pgm: PgManager, app: string, pid: number): Promise<void>;
  pidOf(pgm: PgManager): Promise<number>;
  /**
   * Starts `copyFrom(sql, source, options)` on a one-session manager, feeds `row(id)` for ids
   * 1…`rows` once the server waits for data, unsubscribes while the COPY runs on the server,
   * and checks that the source was unsubscribed, the session is clean and `name` has no rows.
   */
  expectUnsubscribeRollsBack(name: string, sql: string, options: CopyFromOptions, rows: number, row: (id: number) => unknown[]): Promise<void>;
}

/** The checks of {@link CopyChecks}, tables named after `prefix`. Call it in a `describe` body. */
export function useCopyChecks(prefix: string): CopyChecks {
  const tables: string[] = [];
  const admin = useAdminClient({
    teardown: async (client) => {
      for (const table of tables) await client.query(`DROP TABLE IF EXISTS ${table}`);
    },
  });
  const activity = async (app: string): Promise<{ pid: number; state: string; query: string }[]> =>
    (await admin.query('SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1', [app])).rows;
  const countOf = async (name: string): Promise<number> => Number((await admin.query(`SELECT count(*) AS n FROM ${name}`)).rows[0].n);
  const copyRunning = async (app: string): Promise<boolean> => (await activity(app)).some((session) => session.state === 'active' && /^COPY/i.test(session.query));
  const pidOf = async (pgm: PgManager): Promise<number> => (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
  const expectCleanSession = async (pgm: PgManager, app: string, pid: number): Promise<void> => {
    let seen: unknown[] = [];
    await waitFor(async () => {
      const sessions = (seen = await activity(app));
      return sessions.length === 1 && sessions[0].state === 'idle';
    }, () => `the session of ${app} idle with no COPY running: ${JSON.stringify(seen)}`, 10_000);
    await waitFor(() => pgm.poolState().idle === 1 && pgm.poolState().inUse === 0, () => `the session back in the pool: ${JSON.stringify(pgm.poolState())}`, 10_000);
    const next = await firstValueFrom(pgm.query<{ pid: number; status: string }>("SELECT pg_backend_pid() AS pid, 'ok' AS status"));
    assert.equal(next.pid, pid, 'the same session served the next statement');
    assert.equal(next.status, 'ok');
  };
  return {
    admin,
    table: async (columns) => {
      const name = uniqueName(prefix);
      tables.push(name);
      await admin.query(`CREATE TABLE ${name} (${columns})`);
      return name;
    },
    countOf,
    activity,
    copyRunning,
    expectCleanSession,
    pidOf,
    expectUnsubscribeRollsBack: async (name, sql, options, rows, row) => {
      const { pgm, app } = testManager({ poolSize: 1 });
      const pid = await pidOf(pgm);
      const source = new Subject<unknown[]>();
      const subscription = pgm.copyFrom(sql, source, options).subscribe({ error: (error) => assert.fail(`no error after unsubscribe: ${String(error)}`) });
      await waitFor(() => source.observed, 'the source subscribed once the server waits for data', 10_000);
      for (let id = 1; id <= rows; id++) source.next(row(id));
      // The positive control of the checks below: the COPY runs on the server.
      await waitFor(() => copyRunning(app), 'the COPY running on the server', 10_000);
      subscription.unsubscribe();
      assert.equal(source.observed, false, 'the source was unsubscribed');
      await expectCleanSession(pgm, app, pid);
      assert.equal(await countOf(name), 0, 'the server rolled the COPY back');
      await pgm.close();
    },
  };
}
