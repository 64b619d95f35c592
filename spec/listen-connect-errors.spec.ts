// A listen config that cannot connect must say so (issue #13): faults that retrying cannot fix
// (class 28, 3D000, a bad initStatement, no password for a SCRAM server, TLS the server lacks)
// error every subscriber and waitForNotify with a typed ConnectionError and stop the retries
// until a new subscriber arrives; transient ones (refused, too many connections) keep healing
// with backoff, and every failed attempt is an `error` event and a `reconnecting` status.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, type Subscription } from 'rxjs';
import { ConnectionError, logEventsTo, PgManager, RxpgError, type DbEvent, type ListenStatus, type Notification } from '../src/index.js';
import { freePort, startLocalPostgres, type LocalPostgres } from '../scripts/local-postgres.js';
import { DATABASE_URL, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { testPassword } from './support/secrets.js';
import pg from 'pg';

/** The test server's address and credentials as separate fields, so one of them can be changed. */
function serverFields(): { host: string; port: number; user: string; password: string | undefined; database: string } {
  const url = new URL(DATABASE_URL);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password) || undefined,
    database: url.pathname.slice(1),
  };
}

/** Everything a listen config tells its user: events$ through logEventsTo, events, statuses. */
function watch(pgm: PgManager, conn: string) {
  const logged: string[] = [];
  const events: DbEvent[] = [];
  const statuses: ListenStatus[] = [];
  const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (...args: unknown[]) => logged.push(args.map(String).join(' ')) };
  const subscriptions: Subscription[] = [
    pgm.events$.subscribe(logEventsTo(logger)),
    pgm.events$.subscribe((event) => events.push(event)),
    pgm.listenStatus$(conn).subscribe((status) => statuses.push(status)),
  ];
  const errors = () => events.filter((event): event is Extract<DbEvent, { type: 'error' }> => event.type === 'error' && event.conn === conn);
  return { logged, events, statuses, errors, stop: () => subscriptions.forEach((subscription) => subscription.unsubscribe()) };
}

/** How a promise settled, within a deadline (a promise that never settles fails the test). */
async function settled<T>(promise: Promise<T>, millis: number, what: string): Promise<{ value: T } | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${millis} ms waiting until ${what}`)), millis);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value }), (error: unknown) => ({ error })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error a notifications() subscriber gets, within 5 s; fails if it gets none or a notification. */
async function subscriberError(pgm: PgManager, conn: string, channel = uniqueName('fatal')): Promise<ConnectionError> {
  const outcome = await settled(firstValueFrom(pgm.notifications(channel, { conn })), 5000, `the notifications('${channel}') subscriber of '${conn}' is errored`);
  assert.ok('error' in outcome, `the subscriber got a notification instead of an error: ${JSON.stringify('value' in outcome && outcome.value)}`);
  assert.ok(outcome.error instanceof ConnectionError, `a ConnectionError, got ${String(outcome.error)}`);
  return outcome.error;
}

/** waitForNotify must reject with the typed error, not resolve null when its timeout passes. */
async function waitForNotifyError(pgm: PgManager, conn: string): Promise<ConnectionError> {
  const outcome = await settled(firstValueFrom(pgm.waitForNotify(conn, { timeout: 4000 })), 6000, `waitForNotify('${conn}') settles`);
  assert.ok('error' in outcome, `waitForNotify resolved ${JSON.stringify('value' in outcome && outcome.value)} instead of rejecting`);
  assert.ok(outcome.error instanceof ConnectionError, `a ConnectionError, got ${String(outcome.error)}`);
  return outcome.error;
}

/**
 * Proves that a failed config made no further attempt, over a window long enough for many: a
 * control config on a refused port with the same backoff has failed `controlAttempts` times
 * meanwhile (the positive control that retries would have been seen).
 */
async function noRetriesWhile(pgm: PgManager, failedErrors: () => unknown[], controlAttempts = 6): Promise<void> {
  const before = failedErrors().length;
  const port = await freePort();
  pgm.createConnListen({ name: 'control', host: '127.0.0.1', port, reconnectDelay: 20, maxReconnectDelay: 20, reconnectJitter: false, healthCheckInterval: 0 });
  const control = watch(pgm, 'control');
  const subscription = pgm.notifications(uniqueName('control'), { conn: 'control' }).subscribe();
  await waitFor(() => control.errors().length >= controlAttempts, () => `the control config failed ${controlAttempts} times (saw ${control.errors().length})`, 10_000);
  assert.equal(failedErrors().length, before, 'the failed config made no attempt while the control config retried');
  subscription.unsubscribe();
  control.stop();
  await pgm.destroyConn('control');
}

const common = { reconnectDelay: 20, maxReconnectDelay: 20, reconnectJitter: false, healthCheckInterval: 0, connectTimeout: 5 } as const;

describe('listen: faults retrying cannot fix, on the test server', () => {
  const admin = useAdminClient();

  it('a missing database (3D000) errors subscribers and waitForNotify, is logged, and stops retrying until a new subscriber', async () => {
    const pgm = new PgManager();
    const database = uniqueName('rxpg_no_such_db');
    pgm.createConnListen({ name: 'nodb', ...serverFields(), database, ...common });
    const seen = watch(pgm, 'nodb');
    const error = await subscriberError(pgm, 'nodb');
    assert.equal(error.reason, 'connection');
    assert.equal(error.sqlState, '3D000');
    assert.equal(error.conn, 'nodb');
    assert.equal(error.isRetryable, false);
    assert.match(error.message, new RegExp(`^Listen connection 'nodb' cannot connect, and retrying will not help: .*database "${database}" does not exist \\(SQLSTATE 3D000\\)`));
    assert.match(error.message, /\(SQLSTATE 3D000\)\. Create the database or fix its name\. /);
    assert.match(error.message, /A new subscriber tries again\.$/);
    assert.equal(seen.errors().length, 1, 'one failed attempt, one error event');
    assert.equal(seen.errors()[0].error, error, 'the event carries the error the subscriber got');
    assert.equal(seen.logged.length, 1);
    assert.ok(seen.logged[0].startsWith(`pgmanager_sql: [nodb] Listen connection 'nodb' cannot connect`), seen.logged[0]);
    const failed = seen.statuses.at(-1);
    assert.ok(failed?.state === 'failed' && failed.error === error, `listenStatus$ ends in 'failed' with the error (saw ${JSON.stringify(seen.statuses.map((status) => status.state))})`);
    assert.ok(!seen.statuses.some((status) => status.state === 'reconnecting'), 'no reconnect was scheduled');

    // waitForNotify starts one attempt of its own and rejects with its error.
    const waited = await waitForNotifyError(pgm, 'nodb');
    assert.equal(waited.sqlState, '3D000');
    assert.equal(seen.errors().length, 2, 'waitForNotify made exactly one attempt');
    await noRetriesWhile(pgm, seen.errors);
    // A new subscriber tries again, once.
    assert.equal((await subscriberError(pgm, 'nodb')).sqlState, '3D000');
    assert.equal(seen.errors().length, 3);
    seen.stop();
    await pgm.close();
  });

  it('a role that does not exist (28000; 28P01 where the server asks for a password) and an initStatement that fails (42601) are fatal too', async () => {
    const pgm = new PgManager();
    const role = uniqueName('rxpg_no_such_role');
    pgm.createConnListen({ name: 'norole', ...serverFields(), user: role, ...common });
    pgm.createConnListen({ name: 'badinit', ...serverFields(), initStatement: 'SELEC 1', ...common });
    const norole = await subscriberError(pgm, 'norole');
    assert.equal(norole.reason, 'authentication');
    if (new URL(DATABASE_URL).password === '') {
      // Trust authentication tells a missing role as such.
      assert.equal(norole.sqlState, '28000');
      assert.match(norole.message, new RegExp(`role "${role}" does not exist \\(SQLSTATE 28000\\)`));
      assert.match(norole.message, /Check the user name and pg_hba\.conf/);
    } else {
      // A server that asks for a password (the embedded one) never says whether a role exists.
      assert.equal(norole.sqlState, '28P01');
      assert.match(norole.message, new RegExp(`password authentication failed for user "${role}" \\(SQLSTATE 28P01\\)`));
    }
    const badinit = await subscriberError(pgm, 'badinit');
    assert.equal(badinit.reason, 'connection');
    assert.equal(badinit.sqlState, '42601');
    assert.match(badinit.message, /^Listen connection 'badinit' cannot open its session, and retrying will not help: initStatement or LISTEN failed: syntax error at or near "SELEC"/);
    await pgm.close();
  });

  it('TLS demanded of a server without it is fatal', async (t) => {
    const { rows } = await admin.query<{ ssl: string }>('SHOW ssl');
    if (rows[0].ssl !== 'off') return t.skip('the test server has TLS on');
    const pgm = new PgManager();
    pgm.createConnListen({ name: 'tls', ...serverFields(), sslmode: 'require', ...common });
    const error = await subscriberError(pgm, 'tls');
    assert.equal(error.reason, 'connection');
    assert.equal(error.sqlState, undefined);
    assert.match(error.message, /does not support SSL connections/);
    assert.match(error.message, /sslmode/);
    await pgm.close();
  });
});

describe('listen: authentication faults, on a SCRAM server of the test’s own', { timeout: 120_000 }, () => {
  const SUPER = testPassword('listen-super');
  const RIGHT = testPassword('listen-right');
  const WRONG = testPassword('listen-wrong');
  let server: LocalPostgres;
  const target = () => ({ host: '127.0.0.1', port: server.port, database: 'postgres' });
  before(async () => {
    server = await startLocalPostgres({
      password: SUPER,
      files: {
        // rxpg_listener may come in with a password; rxpg_stranger has no entry at all.
        'pg_hba.conf': 'host all postgres 127.0.0.1/32 scram-sha-256\nhost all rxpg_listener 127.0.0.1/32 scram-sha-256\n',
      },
    });
    await su((client) => client.query(`CREATE ROLE rxpg_listener LOGIN PASSWORD '${RIGHT}'; CREATE ROLE rxpg_stranger LOGIN PASSWORD '${RIGHT}'`));
  });
  after(async () => {
    await server?.remove();
  });
  async function su<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ ...target(), user: 'postgres', password: SUPER });
    client.on('error', () => {});
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  it('a wrong password (28P01) errors subscribers and waitForNotify; a new subscriber after the fix listens', async () => {
    const pgm = new PgManager();
    pgm.createConnListen({ name: 'wrongpw', ...target(), user: 'rxpg_listener', password: WRONG, ...common });
    const seen = watch(pgm, 'wrongpw');
    const error = await subscriberError(pgm, 'wrongpw');
    assert.equal(error.reason, 'authentication');
    assert.equal(error.sqlState, '28P01');
    assert.equal(error.isRetryable, false);
    assert.equal(
      error.message,
      `Listen connection 'wrongpw' cannot connect, and retrying will not help: could not connect to rxpg_listener@127.0.0.1:${server.port}/postgres: ` +
        'password authentication failed for user "rxpg_listener" (SQLSTATE 28P01). ' +
        'Fix the password (or the role’s password on the server). A new subscriber tries again.',
    );
    assert.equal((await waitForNotifyError(pgm, 'wrongpw')).sqlState, '28P01');
    assert.equal(seen.logged.length, 2, `each attempt logged once: ${JSON.stringify(seen.logged)}`);
    assert.ok(seen.logged.every((line) => line.includes('SQLSTATE 28P01')));
    await noRetriesWhile(pgm, seen.errors);

    // The operator fixes the role's password on the server: the next subscriber listens.
    await su((client) => client.query(`ALTER ROLE rxpg_listener PASSWORD '${WRONG}'`));
    const channel = uniqueName('fixed');
    const received: Notification[] = [];
    const subscription = pgm.notifications(channel, { conn: 'wrongpw' }).subscribe({ next: (note) => received.push(note), error: (e: unknown) => received.push({ channel: 'ERROR', payload: String(e), processId: 0, receivedAt: 0 }) });
    await waitFor(() => seen.statuses.at(-1)?.state === 'listening', () => `listening after the fix (saw ${JSON.stringify(seen.statuses.map((status) => status.state))})`);
    await su((client) => client.query('SELECT pg_notify($1, $2)', [channel, 'hello']));
    await waitFor(() => received.length === 1, 'the notification arrived');
    assert.deepEqual(received.map((note) => [note.channel, note.payload]), [[channel, 'hello']]);
    subscription.unsubscribe();
    seen.stop();
    await pgm.close();
    await su((client) => client.query(`ALTER ROLE rxpg_listener PASSWORD '${RIGHT}'`));
  });

  it('no password against a SCRAM server, and no pg_hba.conf entry (28000), are fatal', async () => {
    const pgm = new PgManager();
    const saved = process.env.PGPASSWORD;
    delete process.env.PGPASSWORD;
    try {
      pgm.createConnListen({ name: 'nopw', ...target(), user: 'rxpg_listener', ...common });
      pgm.createConnListen({ name: 'stranger', ...target(), user: 'rxpg_stranger', password: RIGHT, ...common });
      const nopw = await subscriberError(pgm, 'nopw');
      assert.equal(nopw.reason, 'authentication');
      assert.equal(nopw.sqlState, undefined);
      assert.match(nopw.message, /^Listen connection 'nopw' cannot connect, and retrying will not help: .*the server asked for a password \(SCRAM-SHA-256\) and none was given\. Give one in the password option, the connection string, PGPASSWORD or ~\/\.pgpass\. A new subscriber tries again\.$/);
      const stranger = await subscriberError(pgm, 'stranger');
      assert.equal(stranger.reason, 'authentication');
      assert.equal(stranger.sqlState, '28000');
      assert.match(stranger.message, /no pg_hba\.conf entry for host "127\.0\.0\.1", user "rxpg_stranger"/);
    } finally {
      if (saved !== undefined) process.env.PGPASSWORD = saved;
      await pgm.close();
    }
  });
});

describe('listen: transient faults keep healing, and say so', () => {
  let forwarder: Server | undefined;
  const sockets = new Set<Socket>();
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (forwarder ? forwarder.close(() => resolve()) : resolve()));
  });

  it('a port nobody listens on: every refused attempt is logged and in listenStatus$; when a server appears there, notifications flow', async () => {
    const port = await freePort();
    const pgm = new PgManager();
    const { host: _host, port: _port, ...credentials } = serverFields();
    pgm.createConnListen({ name: 'down', host: '127.0.0.1', port, ...credentials, reconnectDelay: 20, maxReconnectDelay: 100, reconnectJitter: false, healthCheckInterval: 0, connectTimeout: 2 });
    const seen = watch(pgm, 'down');
    const channel = uniqueName('transient');
    const received: string[] = [];
    let failure: unknown;
    const subscription = pgm.notifications(channel, { conn: 'down' }).subscribe({ next: (note) => received.push(note.payload), error: (error: unknown) => (failure = error) });
    await waitFor(() => seen.logged.length >= 3, () => `three refused attempts logged (saw ${JSON.stringify(seen.logged)}, statuses ${JSON.stringify(seen.statuses.map((s) => s.state))})`);
    assert.match(seen.logged[0], new RegExp(`^pgmanager_sql: \\[down\\] Listen connection 'down' could not connect \\(attempt 1\\): could not connect to \\S+@127\\.0\\.0\\.1:${port}/\\S+: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\. Retrying in 20 ms\\.$`));
    assert.match(seen.logged[2], /\(attempt 3\).*Retrying in 80 ms\.$/);
    const event = seen.errors()[0];
    assert.ok(event.error instanceof ConnectionError && event.error.reason === 'connection' && event.error.isRetryable, String(event.error));
    const reconnecting = seen.statuses.filter((status) => status.state === 'reconnecting');
    assert.ok(reconnecting.length >= 3, 'a reconnecting status per failed attempt');
    const third = reconnecting[2];
    assert.ok(third.state === 'reconnecting' && third.attempt === 3 && third.error instanceof ConnectionError && typeof third.since === 'number');
    assert.equal(failure, undefined, 'a transient fault does not error the subscriber');
    assert.equal(await firstValueFrom(pgm.waitForNotify('down', { timeout: 50 })), null, 'nor waitForNotify');

    // A server appears on the port (a forwarder to the test server): the session listens.
    const { host, port: targetPort } = serverFields();
    forwarder = createServer((client) => {
      const upstream = connect({ host, port: targetPort });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => forwarder!.listen(port, '127.0.0.1', resolve));
    await waitFor(() => seen.statuses.some((status) => status.state === 'listening'), 'listening once the server answers', 5000);
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query('SELECT pg_notify($1, $2)', [channel, 'arrived']);
    await admin.end();
    await waitFor(() => received.includes('arrived'), 'the notification arrived');
    assert.equal(failure, undefined);
    subscription.unsubscribe();
    seen.stop();
    await pgm.close();
  });

  it('too many connections (53300) is transient: logged with its SQLSTATE, healed once the limit is lifted', async () => {
    const role = uniqueName('rxpg_limited');
    const password = testPassword('connlimit');
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0 PASSWORD '${password}'`);
    const pgm = new PgManager();
    try {
      pgm.createConnListen({ name: 'limited', ...serverFields(), user: role, password, ...common });
      const seen = watch(pgm, 'limited');
      const channel = uniqueName('limited');
      const received: string[] = [];
      let failure: unknown;
      const subscription = pgm.notifications(channel, { conn: 'limited' }).subscribe({ next: (note) => received.push(note.payload), error: (error: unknown) => (failure = error) });
      await waitFor(() => seen.errors().length >= 2, () => `two failed attempts (saw ${seen.errors().length})`);
      const error = seen.errors()[0].error;
      assert.ok(error instanceof ConnectionError && error.reason === 'insufficient_resources' && error.sqlState === '53300', String(error));
      assert.match(seen.logged[0], /too many connections for role .* \(SQLSTATE 53300\)\. Retrying in 20 ms\.$/);
      const status = seen.statuses.at(-1);
      assert.ok(status?.state === 'reconnecting' || status?.state === 'connecting', `retrying (status ${status?.state})`);
      await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
      await waitFor(() => seen.statuses.some((entry) => entry.state === 'listening'), 'listening once the limit is lifted');
      await waitFor(async () => {
        await admin.query('SELECT pg_notify($1, $2)', [channel, 'through']);
        return received.includes('through');
      }, 'the notification arrived');
      assert.equal(failure, undefined, 'the subscriber was never errored');
      subscription.unsubscribe();
      seen.stop();
    } finally {
      await pgm.close();
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await admin.end();
    }
  });

  it('maxReconnectAttempts errors subscribers once reached, and a new subscriber starts over', async () => {
    const port = await freePort();
    const pgm = new PgManager();
    pgm.createConnListen({ name: 'bounded', host: '127.0.0.1', port, ...common, maxReconnectAttempts: 2 });
    const seen = watch(pgm, 'bounded');
    const error = await subscriberError(pgm, 'bounded');
    assert.equal(error.reason, 'connection');
    assert.match(error.message, /^Listen connection 'bounded' gave up after 3 failed attempts \(maxReconnectAttempts: 2\): could not connect to .*ECONNREFUSED/);
    assert.equal(seen.errors().length, 3, 'the first attempt and two reconnects');
    assert.equal(seen.statuses.at(-1)?.state, 'failed');
    assert.ok((await subscriberError(pgm, 'bounded')) instanceof RxpgError);
    assert.equal(seen.errors().length, 6, 'a new subscriber gets the same bound again');
    seen.stop();
    await pgm.close();
  });
});
