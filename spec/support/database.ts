import { after, before } from 'node:test';
import pg from 'pg';
import { PgManager, type ConnOptions, type ManagerOptions } from '../../src/index.js';

/** The server the run uses (set by scripts/run-tests.ts; the machine's server when run by hand). */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let counter = 0;

/** A name no other test (or run) uses: for tables, channels and application names. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${++counter}`;
}

/**
 * A fresh manager whose `default` config points at the test server under a unique
 * application_name, so a test can count exactly its own sessions in pg_stat_activity.
 */
export function testManager(options: Omit<ConnOptions, 'connectionString'> = {}, managerOptions: ManagerOptions = {}): {
  pgm: PgManager;
  app: string;
} {
  const app = options.applicationName ?? uniqueName('rxpg');
  const pgm = new PgManager(managerOptions);
  pgm.createConn({ connectionString: DATABASE_URL, ...options, applicationName: app });
  return { pgm, app };
}

/**
 * A plain pg client for looking at the server from outside rxpg, connected before the
 * surrounding suite's tests and ended after them. Call it in a `describe` body.
 */
export function useAdminClient(hooks: { setup?: (admin: pg.Client) => Promise<unknown>; teardown?: (admin: pg.Client) => Promise<unknown> } = {}): pg.Client {
  const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'rxpg_test_admin' });
  client.on('error', () => {});
  before(async () => {
    await client.connect();
    await hooks.setup?.(client);
  });
  after(async () => {
    // The suite's own clean-up runs here, before the client ends (after hooks run in order).
    await hooks.teardown?.(client);
    await client.end();
  });
  return client;
}

/** Sessions of `app` as pg_stat_activity shows them. */
export async function sessionsOf(admin: pg.Client, app: string): Promise<{ pid: number; state: string; query: string }[]> {
  const result = await admin.query<{ pid: number; state: string; query: string }>(
    'SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
    [app],
  );
  return result.rows;
}

/** Polls `check` until it returns true, failing with `message` after `timeoutMillis`. */
export async function waitFor(check: () => boolean | Promise<boolean>, message: string, timeoutMillis = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMillis} ms waiting until ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Waits until the server shows no session of `app`. A backend leaves pg_stat_activity a moment
 * after its socket closed, so this is a bounded wait rather than a single look.
 */
export async function noSessionsLeft(admin: pg.Client, app: string): Promise<void> {
  let last: { pid: number; state: string }[] = [];
  await waitFor(async () => (last = await sessionsOf(admin, app)).length === 0, `the server shows no session of ${app} (still: ${JSON.stringify(last)})`, 2000);
}
