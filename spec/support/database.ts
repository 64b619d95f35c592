import { after, before } from 'node:test';
import pg from 'pg';
import type { Observable } from 'rxjs';
import { PgManager, type ConnOptions, type DbEvent, type ManagerOptions, type PoolState } from '../../src/index.js';

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

/** One row of pg_stat_activity, as the helpers below give it. */
export interface ServerSession {
  readonly pid: number;
  readonly state: string;
  readonly query: string;
}

/** Sessions of `app` as pg_stat_activity shows them; may be empty (see {@link expectSessions}). */
export async function sessionsOf(admin: pg.Client, app: string): Promise<ServerSession[]> {
  const result = await admin.query<ServerSession>(
    'SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
    [app],
  );
  return result.rows;
}

/**
 * Sessions of `app`, failing when the server shows none: a check over every session
 * (`.every(...)`) passes on an empty list, so it needs to know there is something to check.
 * Pass `allowEmpty: true` where no session at all is a fine answer.
 */
export async function expectSessions(admin: pg.Client, app: string, options: { allowEmpty?: boolean } = {}): Promise<ServerSession[]> {
  const sessions = await sessionsOf(admin, app);
  if (sessions.length === 0 && options.allowEmpty !== true) {
    throw new Error(`The server shows no session of ${app}: a check over all of its sessions would pass on nothing (pass allowEmpty: true if none is fine).`);
  }
  return sessions;
}

/**
 * Waits until every session of `app` is idle (nothing running, no transaction open), failing at
 * once if the server shows no session of `app` at all, which would make "every" pass on nothing.
 */
export async function waitForIdle(admin: pg.Client, app: string, message: string, timeoutMillis = 2000): Promise<ServerSession[]> {
  let last: ServerSession[] = [];
  await waitFor(
    async () => (last = await expectSessions(admin, app)).every((session) => session.state === 'idle'),
    () => `${message} (every session of ${app} idle; last seen: ${JSON.stringify(last.map(({ pid, state }) => ({ pid, state })))})`,
    timeoutMillis,
  );
  return last;
}

/**
 * Polls `check` until it returns true, failing with `message` after `timeoutMillis`. A function
 * as `message` is called at the failure, so it can say what the last look saw.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, message: string | (() => string), timeoutMillis = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMillis} ms waiting until ${typeof message === 'function' ? message() : message}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Waits until the server shows no session of `app`. A backend leaves pg_stat_activity a moment
 * after its socket closed, so this is a bounded wait rather than a single look.
 *
 * `before` is the positive control: the sessions seen earlier (from {@link expectSessions}), so
 * "none left" means they existed and are gone, not that the check looked at the wrong name.
 * It must not be empty, and each of its backends must be gone too, whatever its name now.
 */
export async function noSessionsLeft(admin: pg.Client, app: string, before: readonly Pick<ServerSession, 'pid'>[]): Promise<void> {
  if (before.length === 0) {
    throw new Error(`noSessionsLeft(${app}): no session was seen before, so finding none left would prove nothing.`);
  }
  const pids = before.map((session) => session.pid);
  let last: { pid: number; state: string }[] = [];
  await waitFor(
    async () =>
      (last = (await admin.query<{ pid: number; state: string }>('SELECT pid, state FROM pg_stat_activity WHERE application_name = $1 OR pid = ANY($2::int[])', [app, pids])).rows)
        .length === 0,
    () => `the server shows no session of ${app}${pids.length > 0 ? ` and none of the backends ${JSON.stringify(pids)} seen before` : ''} (still: ${JSON.stringify(last)})`,
    2000,
  );
}

/** What {@link watchPoolBound} saw: the pool at each acquire event, and every breach of its size. */
export interface PoolBoundWatch {
  /** Acquire events seen. */
  readonly acquires: number;
  /** The most sessions in use, as `poolState()` said at an acquire event. */
  readonly maxInUse: number;
  /** The most sessions open or opening, at an acquire or connect event. */
  readonly maxTotal: number;
  /** Each breach, described; empty when the pool kept its bound. */
  readonly violations: readonly string[];
  stop(): void;
}

/**
 * Checks a pool's bound at every event while it works rather than sampling afterwards: at each
 * `acquire` the pool's own state (`inUse`, `total`) and the sessions leased by the events'
 * account (acquired, not yet released) stay within the size, and no session is granted twice;
 * at each `connect` the sessions opened and not yet discarded stay within the size too. Events
 * are emitted synchronously, so `poolState()` read in the handler is the state at that grant.
 */
export function watchPoolBound(
  manager: { readonly events$: Observable<DbEvent>; poolState(name?: string): PoolState },
  conn = 'default',
): PoolBoundWatch {
  const leased = new Set<number>();
  const open = new Set<number>();
  const violations: string[] = [];
  let acquires = 0;
  let maxInUse = 0;
  let maxTotal = 0;
  const breach = (text: string): void => {
    if (violations.length < 20) violations.push(text);
  };
  const subscription = manager.events$.subscribe((event) => {
    if (event.conn !== conn) return;
    if (event.type === 'acquire') {
      acquires++;
      const state = manager.poolState(conn);
      maxInUse = Math.max(maxInUse, state.inUse);
      maxTotal = Math.max(maxTotal, state.total);
      if (state.inUse > state.size || state.total > state.size) breach(`acquire #${acquires}: ${JSON.stringify(state)}`);
      if (leased.has(event.processId)) breach(`acquire #${acquires}: session ${event.processId} granted while still leased`);
      leased.add(event.processId);
      if (leased.size > state.size) breach(`acquire #${acquires}: ${leased.size} sessions leased, size ${state.size}`);
    } else if (event.type === 'connect') {
      open.add(event.processId);
      const state = manager.poolState(conn);
      maxTotal = Math.max(maxTotal, state.total);
      if (open.size > state.size) breach(`connect of ${event.processId}: ${open.size} sessions open, size ${state.size}`);
    } else if (event.type === 'release') {
      leased.delete(event.processId);
      if (event.discarded) open.delete(event.processId);
    }
  });
  return {
    get acquires() {
      return acquires;
    },
    get maxInUse() {
      return maxInUse;
    },
    get maxTotal() {
      return maxTotal;
    },
    violations,
    stop: () => subscription.unsubscribe(),
  };
}
