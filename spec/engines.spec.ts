// Postgres-wire engines (issue #15, part 5). None can be installed here, so a proxy in front of the
// test server answers the startup as each engine does (its ParameterStatus messages) and rewrites
// the statements the engine answers differently into ones the real server answers the same way
// (LISTEN on CockroachDB fails with 0A000; SHOW multiple_active_portals_enabled). Every refusal is
// checked at the wire too: nothing was sent for a refused LISTEN or stream.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { firstValueFrom, lastValueFrom, toArray, type Subscription } from 'rxjs';
import {
  ConfigurationError,
  ConnectionError,
  detectEngine,
  EngineUnsupportedError,
  PgManager,
  PostgresDriver,
  type DbEvent,
  type ListenStatus,
} from '../src/index.js';
import { copyFromCaveat } from '../src/postgres/engine.js';
import { PgConnection } from '../src/postgres/pg-connection.js';
import { freePort } from '../scripts/local-postgres.js';
import { DATABASE_URL, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { openDriverConnection } from './support/driver-connection.js';
import { cockroachImitation, EngineProxy, YUGABYTE, type EngineImitation } from './support/engine-proxy.js';

const NEON_POOLED = 'ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech';
const NEON_DIRECT = 'ep-cool-darkness-123456.us-east-2.aws.neon.tech';

/** A connection string to the test server through `proxy`, in plain text, under `host` (dialled at 127.0.0.1 by hostaddr). */
function urlThrough(proxy: EngineProxy, host = '127.0.0.1', extra = ''): string {
  const url = new URL(DATABASE_URL);
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return `postgres://${auth}${host}:${proxy.port}${url.pathname}?sslmode=disable&hostaddr=127.0.0.1${extra}`;
}

/** Proxies started by a test, stopped after it. */
const proxies: EngineProxy[] = [];
async function proxyFor(imitation: EngineImitation): Promise<EngineProxy> {
  const proxy = await EngineProxy.start(imitation);
  proxies.push(proxy);
  return proxy;
}
after(async () => {
  await Promise.all(proxies.map((proxy) => proxy.stop()));
});

/** The engine a session opened through `url` reached, as the driver tells it. */
async function engineThrough(url: string): Promise<PgConnection['engine']> {
  const { connection } = await openDriverConnection(new PostgresDriver(), url, uniqueName('rxpg_engine'));
  assert.ok(connection instanceof PgConnection);
  const engine = connection.engine;
  await lastValueFrom(connection.close(), { defaultValue: undefined });
  return engine;
}

/** A listen config's events, statuses and `error` events. */
function watch(pgm: PgManager, conn: string) {
  const events: DbEvent[] = [];
  const statuses: ListenStatus[] = [];
  const subscriptions: Subscription[] = [pgm.events$.subscribe((event) => events.push(event)), pgm.listenStatus$(conn).subscribe((status) => statuses.push(status))];
  const errors = () => events.filter((event) => event.type === 'error' && event.conn === conn);
  return { events, statuses, errors, stop: () => subscriptions.forEach((subscription) => subscription.unsubscribe()) };
}

/** The error a notifications() subscriber gets (failing if it gets a notification, or nothing within 5 s). */
async function subscriberError(pgm: PgManager, conn: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      firstValueFrom(pgm.notifications(uniqueName('engine'), { conn })).then(
        (value) => assert.fail(`a notification instead of an error: ${JSON.stringify(value)}`),
        (error: unknown) => error,
      ),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no error for a subscriber of '${conn}' within 5 s`)), 5000))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * No further attempt through `proxy` while a control config on a refused port, with the same
 * backoff, fails `attempts` times: the positive control that a retry would have been seen.
 */
async function noRetriesWhile(pgm: PgManager, proxy: EngineProxy, attempts = 6): Promise<void> {
  const sessions = proxy.sessions;
  const port = await freePort();
  pgm.createConnListen({ name: 'control', host: '127.0.0.1', port, reconnectDelay: 20, maxReconnectDelay: 20, reconnectJitter: false, healthCheckInterval: 0 });
  const control = watch(pgm, 'control');
  const subscription = pgm.notifications(uniqueName('control'), { conn: 'control' }).subscribe({ error: () => {} });
  await waitFor(() => control.errors().length >= attempts, () => `the control config failed ${attempts} times (saw ${control.errors().length})`, 10_000);
  assert.equal(proxy.sessions, sessions, 'no new session through the proxy while the control config retried');
  subscription.unsubscribe();
  control.stop();
  await pgm.destroyConn('control');
}

const listenOptions = { reconnectDelay: 20, maxReconnectDelay: 20, reconnectJitter: false, healthCheckInterval: 0, connectTimeout: 5 } as const;

describe('detectEngine, from the startup parameters and the host name', () => {
  const pg = new Map([['server_version', '15.4 (Debian 15.4-2.pgdg120+1)']]);

  it('tells each engine apart, and PostgreSQL (Citus too: nothing of its own at startup) otherwise', () => {
    const crdb = detectEngine(new Map([['server_version', '13.0.0'], ['crdb_version', 'CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27)']]), 'db');
    assert.deepEqual({ ...crdb }, { kind: 'cockroachdb', name: 'CockroachDB', version: 'v23.1.11', serverVersion: '13.0.0', pooled: false });
    assert.deepEqual({ ...detectEngine(new Map([['server_version', '11.2-YB-2.20.0.0-b0']]), 'db') }, { kind: 'yugabytedb', name: 'YugabyteDB', version: '2.20.0.0-b0', serverVersion: '11.2-YB-2.20.0.0-b0', pooled: false });
    assert.equal(detectEngine(new Map([['server_version', '15.2-YB-2025.2.1.0-b0']]), 'db').version, '2025.2.1.0-b0');
    assert.deepEqual({ ...detectEngine(pg, NEON_POOLED) }, { kind: 'neon', name: 'Neon', version: undefined, serverVersion: pg.get('server_version'), pooled: true });
    assert.equal(detectEngine(pg, NEON_DIRECT).pooled, false);
    assert.equal(detectEngine(pg, NEON_DIRECT).kind, 'neon');
    // Controls: PostgreSQL's own version string, a -pooler host that is not Neon's, a Neon lookalike, no host name at all.
    for (const host of ['127.0.0.1', 'db-pooler.example.com', 'ep-x.neon.tech.example.com', '/var/run/postgresql']) {
      assert.equal(detectEngine(pg, host).kind, 'postgresql', host);
    }
    assert.equal(detectEngine(new Map(), '127.0.0.1').kind, 'postgresql');
  });

  it("names YugabyteDB's COPY FROM batches, and nothing for the others (the hook for copyFrom())", () => {
    assert.match(copyFromCaveat(detectEngine(new Map([['server_version', '11.2-YB-2.20.0.0-b0']]), 'db')) ?? '', /every 20,000 rows/);
    assert.equal(copyFromCaveat(detectEngine(pg, 'db')), undefined);
    assert.equal(copyFromCaveat(detectEngine(new Map([['crdb_version', 'CockroachDB CCL v23.1.11']]), 'db')), undefined);
  });
});

describe('engines at connect, through a proxy that answers as each does', () => {
  it('a session knows its engine: CockroachDB, YugabyteDB, Neon pooled and direct, and PostgreSQL through the same proxy unchanged', async () => {
    const crdb = await proxyFor(cockroachImitation());
    const yb = await proxyFor(YUGABYTE);
    const plain = await proxyFor({});
    assert.equal((await engineThrough(urlThrough(crdb))).kind, 'cockroachdb');
    assert.equal((await engineThrough(urlThrough(crdb))).version, 'v23.1.11');
    assert.equal((await engineThrough(urlThrough(yb))).kind, 'yugabytedb');
    const pooled = await engineThrough(urlThrough(plain, NEON_POOLED));
    assert.equal(pooled.kind, 'neon');
    assert.equal(pooled.pooled, true);
    assert.equal((await engineThrough(urlThrough(plain, NEON_DIRECT))).pooled, false);
    const postgres = await engineThrough(urlThrough(plain));
    assert.equal(postgres.kind, 'postgresql');
    assert.match(postgres.serverVersion ?? '', /^\d+/, 'the real server_version came through');
    // The proxy imitates: without it the same server is PostgreSQL (the detection reads what the server says).
    assert.equal((await engineThrough(DATABASE_URL)).kind, 'postgresql');
  });
});

describe('the imitation itself', () => {
  it('answers LISTEN and SHOW multiple_active_portals_enabled as CockroachDB does, to any client (here a plain pg Client)', async () => {
    const proxy = await proxyFor(cockroachImitation('off'));
    const client = new pg.Client({ connectionString: urlThrough(proxy) });
    await client.connect();
    try {
      await assert.rejects(client.query('LISTEN anything'), (error: unknown) => (error as { code?: string }).code === '0A000');
      assert.equal((await client.query('SHOW multiple_active_portals_enabled')).rows[0].multiple_active_portals_enabled, 'off');
      // Everything else reaches the real server unchanged.
      assert.equal((await client.query('SELECT 41 + 1 AS n')).rows[0].n, 42);
    } finally {
      await client.end();
    }
  });
});

describe('LISTEN where the engine has none', () => {
  const admin = useAdminClient();

  it('CockroachDB: every subscriber fails once with a non-retryable ConnectionError naming CockroachDB and changefeeds, nothing is sent, no retry', async () => {
    const proxy = await proxyFor(cockroachImitation());
    const pgm = new PgManager();
    pgm.createConnListen({ name: 'crdb', connectionString: urlThrough(proxy), ...listenOptions });
    const seen = watch(pgm, 'crdb');
    const [first, second] = await Promise.all([subscriberError(pgm, 'crdb'), subscriberError(pgm, 'crdb')]);
    for (const error of [first, second]) {
      assert.ok(error instanceof ConnectionError, `a ConnectionError, got ${String(error)}`);
      assert.equal(error.isRetryable, false);
      assert.match(error.message, /^Listen connection 'crdb' cannot LISTEN, and retrying will not help: CockroachDB v23\.1\.11 does not support LISTEN\/NOTIFY/);
      assert.match(error.message, /changefeed/);
      assert.ok(error.cause instanceof EngineUnsupportedError, 'the cause is the typed refusal');
      assert.equal(error.cause.engine, 'CockroachDB');
      assert.equal(error.cause.feature, 'LISTEN');
    }
    assert.equal(first, second, 'both subscribers got the one error of the one attempt');
    assert.equal(proxy.sessions, 1, 'one attempt');
    assert.equal(seen.errors().length, 1, 'one error event');
    assert.ok(!proxy.queries.some((text) => /LISTEN/i.test(text)), `no LISTEN reached the engine (sent: ${JSON.stringify(proxy.queries)})`);
    assert.ok(!seen.statuses.some((status) => status.state === 'reconnecting'), 'no reconnect was scheduled');
    assert.equal(seen.statuses.at(-1)?.state, 'failed');
    await noRetriesWhile(pgm, proxy);
    seen.stop();
    await pgm.close();
  });

  it("Neon's pooled endpoint: refused at createConnListen when the pooler is inferred, and at connect when the config says another", async () => {
    const proxy = await proxyFor({});
    const pgm = new PgManager();
    assert.throws(
      () => pgm.createConnListen({ name: 'inferred', connectionString: urlThrough(proxy, NEON_POOLED), ...listenOptions }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message.includes("is a transaction pooler (pooler: 'transaction')") &&
        error.message.includes(`its direct endpoint is ${NEON_DIRECT}`),
    );
    assert.throws(
      () => pgm.createConnListen({ name: 'explicit', connectionString: urlThrough(proxy, NEON_POOLED), pooler: 'transaction', ...listenOptions }),
      (error: unknown) => error instanceof ConfigurationError && error.message.includes(`its direct endpoint is ${NEON_DIRECT}`),
    );
    // Control: the direct endpoint is accepted.
    pgm.createConnListen({ name: 'direct', connectionString: urlThrough(proxy, NEON_DIRECT), ...listenOptions });
    // The config says it is no pooler: rxpg believes it for prepared statements and resets, not for LISTEN.
    pgm.createConnListen({ name: 'said', connectionString: urlThrough(proxy, NEON_POOLED), pooler: 'none', ...listenOptions });
    const seen = watch(pgm, 'said');
    const error = await subscriberError(pgm, 'said');
    assert.ok(error instanceof ConnectionError && error.isRetryable === false, `a non-retryable ConnectionError, got ${String(error)}`);
    assert.ok(error.cause instanceof EngineUnsupportedError && error.cause.engine === 'Neon (pooled endpoint)');
    assert.match(error.message, new RegExp(`Point the listen config at the direct endpoint, ${NEON_DIRECT.replace(/\./g, '\\.')}`));
    assert.equal(proxy.sessions, 1);
    assert.ok(!proxy.queries.some((text) => /LISTEN/i.test(text)), 'no LISTEN was sent');
    assert.equal(seen.statuses.at(-1)?.state, 'failed');
    seen.stop();
    await pgm.close();
  });

  it('positive controls: through the same proxy with no imitation, and as YugabyteDB, LISTEN goes out and a notification arrives', async () => {
    for (const [label, imitation] of [['PostgreSQL', {}], ['YugabyteDB', YUGABYTE]] as const) {
      const proxy = await proxyFor(imitation);
      const pgm = new PgManager();
      pgm.createConnListen({ name: 'listen', connectionString: urlThrough(proxy), ...listenOptions });
      const channel = uniqueName('engine_ok');
      const received = firstValueFrom(pgm.notifications(channel));
      await waitFor(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE query LIKE $1', [`%LISTEN "${channel}"%`])).rowCount === 1, `${label}: LISTEN reached the server`);
      await admin.query('SELECT pg_notify($1, $2)', [channel, label]);
      assert.equal((await received).payload, label);
      assert.ok(proxy.queries.some((text) => text.includes(`LISTEN "${channel}"`)), `${label}: the proxy saw the LISTEN`);
      await pgm.close();
    }
  });
});

describe('stream() on CockroachDB', () => {
  const rows = 'SELECT n FROM generate_series(1, 25) AS n';

  it('without multiple_active_portals_enabled: a typed error naming the setting, and no paused portal is sent', async () => {
    for (const [portals, why] of [['off', /multiple_active_portals_enabled is off/], ['absent', /needs v23\.1 or later/]] as const) {
      const proxy = await proxyFor(cockroachImitation(portals));
      const pgm = new PgManager();
      pgm.createConn({ connectionString: urlThrough(proxy) });
      await assert.rejects(lastValueFrom(pgm.stream(rows, [], { batchSize: 10 }).pipe(toArray())), (error: unknown) => {
        assert.ok(error instanceof EngineUnsupportedError, `an EngineUnsupportedError, got ${String(error)}`);
        assert.equal(error.engine, 'CockroachDB');
        assert.equal(error.feature, 'stream()');
        assert.equal(error.isRetryable, false);
        assert.match(error.message, why);
        assert.match(error.message, /options=-c multiple_active_portals_enabled=true/);
        return true;
      });
      assert.deepEqual(proxy.queries, ['SHOW multiple_active_portals_enabled'], 'the session was asked');
      assert.deepEqual(proxy.executes, [], 'no Execute at all: the stream was not sent');
      // query() needs no paused portal and is not asked about it.
      assert.deepEqual((await lastValueFrom(pgm.query(rows).pipe(toArray()))).length, 25);
      assert.deepEqual(proxy.queries, ['SHOW multiple_active_portals_enabled', rows], 'query() went by itself, without a SHOW');
      await pgm.close();
    }
  });

  it('with it on: every row, read in batches through the paused portal (the control that the check lets a stream through)', async () => {
    const proxy = await proxyFor(cockroachImitation('on'));
    const pgm = new PgManager();
    pgm.createConn({ connectionString: urlThrough(proxy) });
    const values = (await lastValueFrom(pgm.stream<{ n: number }>(rows, [], { batchSize: 10 }).pipe(toArray()))).map((row) => row.n);
    assert.deepEqual(values, Array.from({ length: 25 }, (_, index) => index + 1));
    assert.deepEqual(proxy.executes, [10, 10, 10], 'three Executes of 10 rows');
    // Asked before each stream: a SET in between may change it.
    await lastValueFrom(pgm.stream(rows, [], { batchSize: 10 }).pipe(toArray()));
    assert.equal(proxy.queries.filter((text) => text === 'SHOW multiple_active_portals_enabled').length, 2);
    await pgm.close();
  });

  it('inside a transaction too: refused before BEGIN goes out, the session stays usable; with the setting on, every row', async () => {
    const off = await proxyFor(cockroachImitation('off'));
    const pgm = new PgManager();
    pgm.createConn({ connectionString: urlThrough(off), poolSize: 1 });
    await assert.rejects(
      lastValueFrom(pgm.transaction((tx) => tx.stream(rows, [], { batchSize: 10 })).pipe(toArray())),
      (error: unknown) => error instanceof EngineUnsupportedError && error.feature === 'stream()',
    );
    assert.ok(!off.executes.some((limit) => limit > 0), `no Execute with a row limit (saw ${JSON.stringify(off.executes)})`);
    // The one session of the pool serves the next statement.
    assert.deepEqual((await lastValueFrom(pgm.query<{ n: number }>('SELECT $1::int AS n', [7]).pipe(toArray()))).map((row) => row.n), [7]);
    await pgm.close();

    const on = await proxyFor(cockroachImitation('on'));
    const pgmOn = new PgManager();
    pgmOn.createConn({ connectionString: urlThrough(on), poolSize: 1 });
    const values = await lastValueFrom(pgmOn.transaction((tx) => tx.stream<{ n: number }>(rows, [], { batchSize: 10 })).pipe(toArray()));
    assert.equal(values.length, 25);
    assert.deepEqual(on.executes.filter((limit) => limit > 0), [10, 10, 10]);
    await pgmOn.close();
  });

  it('PostgreSQL and YugabyteDB stream as before: nothing asked first', async () => {
    for (const imitation of [{}, YUGABYTE]) {
      const proxy = await proxyFor(imitation);
      const pgm = new PgManager();
      pgm.createConn({ connectionString: urlThrough(proxy) });
      assert.equal((await lastValueFrom(pgm.stream(rows, [], { batchSize: 10 }).pipe(toArray()))).length, 25);
      assert.deepEqual(proxy.queries, []);
      assert.deepEqual(proxy.executes, [10, 10, 10]);
      await pgm.close();
    }
  });
});

describe("YugabyteDB's COPY FROM", () => {
  it('is named once per session, as a fallback event, before its first copyFrom(); PostgreSQL says nothing', async () => {
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    const table = uniqueName('engines_copy');
    await admin.query(`CREATE TABLE ${table} (n int)`);
    try {
      for (const [label, imitation] of [['PostgreSQL', {}], ['YugabyteDB', YUGABYTE]] as const) {
        const proxy = await proxyFor(imitation);
        const pgm = new PgManager();
        const events: DbEvent[] = [];
        const subscription = pgm.events$.subscribe((event) => events.push(event));
        pgm.createConn({ connectionString: urlThrough(proxy), poolSize: 1 });
        for (let round = 0; round < 2; round++) {
          assert.equal(await lastValueFrom(pgm.copyFrom(`COPY ${table} FROM STDIN`, [[1], [2]])), 2, `${label}: the rows are loaded`);
        }
        const caveats = events.filter((event) => event.type === 'fallback' && event.feature === 'copy-from');
        if (label === 'PostgreSQL') assert.deepEqual(caveats, [], 'PostgreSQL: no caveat');
        else {
          assert.equal(caveats.length, 1, 'YugabyteDB: one caveat for the session, not one per COPY');
          assert.match(caveats[0].type === 'fallback' ? caveats[0].detail : '', /YugabyteDB commits COPY FROM every 20,000 rows/);
        }
        subscription.unsubscribe();
        await pgm.close();
      }
    } finally {
      await admin.query(`DROP TABLE ${table}`);
      await admin.end();
    }
  });
});

describe("Neon's pooled endpoint behaves as pooler: 'transaction'", () => {
  it('unnamed statements and one fallback event per config when the config does not say; a config that says keeps its word', async () => {
    const proxy = await proxyFor({});
    const pgm = new PgManager();
    const events: DbEvent[] = [];
    const subscription = pgm.events$.subscribe((event) => events.push(event));
    pgm.createConn({ name: 'pooled', connectionString: urlThrough(proxy, NEON_POOLED), poolSize: 2 });
    // Two sessions at once, each running a statement with a parameter (the extended protocol).
    await Promise.all([0, 1].map(() => lastValueFrom(pgm.query('SELECT $1::int AS n, pg_sleep(0.05)', [1], { conn: 'pooled' }).pipe(toArray()))));
    await lastValueFrom(pgm.query('SELECT $1::int AS n', [2], { conn: 'pooled' }).pipe(toArray()));
    const connects = events.filter((event) => event.type === 'connect' && event.conn === 'pooled');
    assert.equal(connects.length, 2, 'two sessions were opened');
    const fallbacks = events.filter((event) => event.type === 'fallback' && event.conn === 'pooled');
    assert.equal(fallbacks.length, 1, 'one fallback event for the config, not one per session');
    assert.ok(fallbacks[0].type === 'fallback' && fallbacks[0].feature === 'pooler');
    assert.match(fallbacks[0].type === 'fallback' ? fallbacks[0].detail : '', new RegExp(`connect to ${NEON_DIRECT.replace(/\./g, '\\.')}`));
    assert.ok(proxy.parses.length >= 3 && proxy.parses.every((name) => name === ''), `unnamed statements only (saw ${JSON.stringify(proxy.parses)})`);

    // Control: the same host with pooler said: named statements, no event.
    const before = proxy.parses.length;
    pgm.createConn({ name: 'said', connectionString: urlThrough(proxy, NEON_POOLED), pooler: 'session' });
    await lastValueFrom(pgm.query('SELECT $1::int AS n', [3], { conn: 'said' }).pipe(toArray()));
    assert.ok(proxy.parses.slice(before).some((name) => name.startsWith('rxpg_')), `a named statement (saw ${JSON.stringify(proxy.parses.slice(before))})`);
    assert.equal(events.filter((event) => event.type === 'fallback' && event.conn === 'said').length, 0);
    // Control: the direct endpoint is no pooler.
    pgm.createConn({ name: 'direct', connectionString: urlThrough(proxy, NEON_DIRECT) });
    await lastValueFrom(pgm.query('SELECT $1::int AS n', [4], { conn: 'direct' }).pipe(toArray()));
    assert.equal(events.filter((event) => event.type === 'fallback').length, 1);
    subscription.unsubscribe();
    await pgm.close();
  });
});

