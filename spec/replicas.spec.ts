// Read routing through PgManager against a primary and two streaming standbys of the test's
// own: each target_session_attrs reaches the kind of server it asks for, load_balance_hosts
// spreads a pool, hostRecheck keeps a dead host from being dialled by every connect, `host`
// events say where each session went and why a host was passed over, and a session whose
// standby is promoted is retired from a standby config's pool.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { concat, filter, firstValueFrom, lastValueFrom, merge, Subject, tap } from 'rxjs';
import { PgManager, PostgresDriver, type ConnectionParams, type DbEvent, type HostEvent, type ReleaseEvent } from '../src/index.js';
import { postgresParams, type PostgresHost } from '../src/postgres/postgres-connection-params.js';
import { startLocalCluster, type LocalCluster } from '../scripts/local-cluster.js';
import { freePort } from '../scripts/local-postgres.js';
import { waitFor } from './support/database.js';
import { plainSessionSettings } from './support/driver-connection.js';
import { testPassword } from './support/secrets.js';

const password = testPassword('replicas');

describe('read replicas: routing, host memory and role changes (a primary and two standbys of the test’s own)', () => {
  let cluster: LocalCluster;
  /** Accepts TCP and closes at once, counting: a host that is down, whose dials can be counted. */
  let dead: Server;
  let deadPort: number;
  let deadDials = 0;
  const sockets: Socket[] = [];

  before(async () => {
    cluster = await startLocalCluster({ password, standbys: 2, synchronous: true });
    dead = createServer((socket) => {
      deadDials++;
      sockets.push(socket);
      socket.destroy();
    });
    deadPort = await new Promise<number>((resolve) => dead.listen(0, '127.0.0.1', () => resolve((dead.address() as { port: number }).port)));
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    dead.close();
    await cluster.remove();
  });

  const url = (ports: number[], query: string): string =>
    `postgresql://postgres:${encodeURIComponent(password)}@${ports.map((port) => `127.0.0.1:${port}`).join(',')}/postgres?${query}`;
  const portOf = (pgm: PgManager, conn: string): Promise<{ port: number; standby: boolean }> =>
    firstValueFrom(pgm.query<{ port: number; standby: boolean }>("SELECT current_setting('port')::int AS port, pg_is_in_recovery() AS standby", [], { conn })).then(
      (row) => ({ port: row.port, standby: row.standby }),
    );
  const hostEvents = (pgm: PgManager): HostEvent[] => {
    const seen: HostEvent[] = [];
    pgm.events$.pipe(filter((event): event is HostEvent => event.type === 'host')).subscribe((event) => seen.push(event));
    return seen;
  };

  it('read-write reaches the primary wherever it is in the list, and the host events say why each standby was passed over', async () => {
    const [first, second] = cluster.standbys.map((standby) => standby.port);
    const pgm = new PgManager();
    const events = hostEvents(pgm);
    pgm.createConn({ name: 'writes', connectionString: url([first, second, cluster.primary.port], 'target_session_attrs=read-write') });
    assert.deepEqual(await portOf(pgm, 'writes'), { port: cluster.primary.port, standby: false });
    assert.deepEqual(
      events.map(({ port, outcome, why }) => ({ port, outcome, why })),
      [
        { port: first, outcome: 'passed_over', why: 'a standby (in hot standby), not read-write (target_session_attrs=read-write)' },
        { port: second, outcome: 'passed_over', why: 'a standby (in hot standby), not read-write (target_session_attrs=read-write)' },
        { port: cluster.primary.port, outcome: 'chosen', why: 'a primary accepting writes (target_session_attrs=read-write)' },
      ],
    );
    assert.ok(events.every((event) => event.conn === 'writes'));
    assert.equal(typeof events[2].processId, 'number');
    await pgm.close();
  });

  it('read-only, standby and prefer-standby serve reads from a standby; prefer-standby falls back to the primary when no standby answers', async () => {
    const standby = cluster.standbys[0].port;
    const pgm = new PgManager();
    for (const attrs of ['read-only', 'standby', 'prefer-standby'] as const) {
      pgm.createConn({ name: attrs, connectionString: url([cluster.primary.port, standby], `target_session_attrs=${attrs}`), poolSize: 3 });
      const ports = await Promise.all([0, 1, 2].map(() => portOf(pgm, attrs)));
      assert.deepEqual(ports, [0, 1, 2].map(() => ({ port: standby, standby: true })), attrs);
    }
    const refused = await freePort();
    pgm.createConn({ name: 'fallback', connectionString: url([refused, cluster.primary.port], 'target_session_attrs=prefer-standby') });
    assert.deepEqual(await portOf(pgm, 'fallback'), { port: cluster.primary.port, standby: false });
    // Positive control: the same config with only the primary listed is refused by `standby`.
    pgm.createConn({ name: 'strict', connectionString: url([refused, cluster.primary.port], 'target_session_attrs=standby'), acquireTimeout: 5000 });
    await assert.rejects(portOf(pgm, 'strict'), /no host of 2 was suitable \(target_session_attrs=standby\)/);
    await pgm.close();
  });

  it('load_balance_hosts=random spreads a pool across both standbys; disable keeps every session on the first', async () => {
    const ports = cluster.standbys.map((standby) => standby.port);
    const sessions = 16;
    for (const balance of ['random', 'disable'] as const) {
      const pgm = new PgManager();
      const events = hostEvents(pgm);
      pgm.createConn({ connectionString: url(ports, `target_session_attrs=standby&load_balance_hosts=${balance}`), poolSize: sessions });
      // 16 connection scopes held open together until every one has its session: 16 sessions,
      // each a `host` event naming where it went, however slowly the machine opens them.
      const release = new Subject<void>();
      const ports$ = new Subject<number>();
      const held = lastValueFrom(
        merge(
          ...Array.from({ length: sessions }, () =>
            pgm.connection((conn) =>
              concat(
                conn.query<{ port: number }>("SELECT current_setting('port')::int AS port").pipe(tap((row) => ports$.next(row.port))),
                release,
              ),
            ),
          ),
        ),
        { defaultValue: undefined },
      );
      const seen: number[] = [];
      ports$.subscribe((port) => seen.push(port));
      await waitFor(() => seen.length === sessions, () => `${balance}: ${sessions} scopes hold a session each (${seen.length} so far)`, 30_000);
      release.complete();
      await held;
      const chosen = events.filter((event) => event.outcome === 'chosen');
      assert.equal(chosen.length, sessions, `${balance}: a session opened for each of the ${sessions} scopes`);
      assert.deepEqual(events.filter((event) => event.outcome === 'passed_over'), [], 'both hosts are standbys: none passed over');
      const used = new Set(chosen.map((event) => event.port));
      assert.deepEqual(new Set(seen), used, 'the scopes ran where the sessions went');
      // Random: the chance that 16 shuffles all put one standby first is 2 in 65,536.
      if (balance === 'random') assert.deepEqual([...used].sort(), [...ports].sort(), 'random: both standbys serve the pool');
      else assert.deepEqual([...used], [ports[0]], 'disable: the first standby serves every session');
      await pgm.close();
    }
  });

  describe('hostRecheck', () => {
    // A driver per test: what one test's connects learned must not order the next test's.
    let driver = new PostgresDriver();
    beforeEach(() => {
      driver = new PostgresDriver();
    });
    const settings = plainSessionSettings('rxpg_replicas');
    const host = (port: number): PostgresHost => ({ host: '127.0.0.1', hostaddr: undefined, port });
    const params = (ports: number[], hostRecheckMillis: number): ConnectionParams => {
      const base = postgresParams(driver.resolveConnection({ connectionString: cluster.primary.url }, settings, 'recheck').params);
      const hosts = ports.map(host);
      const full = { ...base, hosts, host: hosts[0].host, port: hosts[0].port, targetSessionAttrs: 'read-write', hostRecheckMillis };
      Object.defineProperty(full, 'password', { value: base.password, enumerable: false });
      return full;
    };
    const connectOnce = async (ports: number[], recheck: number, events: DbEvent[] = []): Promise<number> => {
      const connection = await firstValueFrom(
        driver.connect(params(ports, recheck), { onNotice: () => {}, onLost: () => {}, onDriverEvent: (event) => events.push({ ...event, conn: 'recheck' }) }),
      );
      const port = await new Promise<number>((resolve, reject) => {
        let found = 0;
        connection.run("SELECT current_setting('port')::int", [], { row: (_shape, values) => (found = values[0] as number), complete: () => resolve(found), error: reject });
      });
      await lastValueFrom(connection.close(), { defaultValue: undefined });
      return port;
    };

    it('a host that did not answer is dialled once, not by every connect, while the interval lasts; 0 dials it every time, as libpq', async () => {
      const standby = cluster.standbys[0].port;
      const hosts = [deadPort, standby, cluster.primary.port];
      const before = deadDials;
      for (let round = 0; round < 4; round++) assert.equal(await connectOnce(hosts, 60_000), cluster.primary.port);
      assert.equal(deadDials - before, 1, 'remembered as down after the first connect');
      const events: DbEvent[] = [];
      assert.equal(await connectOnce(hosts, 60_000, events), cluster.primary.port);
      // The primary, known good, goes first now; the standby and the dead host are not needed.
      assert.deepEqual(
        events.map((event) => (event.type === 'host' ? `${event.port} ${event.outcome}` : event.type)),
        [`${cluster.primary.port} chosen`],
      );
      const libpq = deadDials;
      for (let round = 0; round < 3; round++) assert.equal(await connectOnce(hosts, 0), cluster.primary.port);
      assert.equal(deadDials - libpq, 3, 'positive control: without memory every connect dials it first');
    });

    it('a remembered host is tried again once the interval has passed, and still tried when no other host serves', async () => {
      const standby = cluster.standbys[1].port;
      const before = deadDials;
      assert.equal(await connectOnce([deadPort, cluster.primary.port], 250), cluster.primary.port);
      assert.equal(await connectOnce([deadPort, cluster.primary.port], 250), cluster.primary.port);
      assert.equal(deadDials - before, 1, 'positive control: remembered within the interval');
      const started = Date.now();
      while (Date.now() - started < 300) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await connectOnce([deadPort, cluster.primary.port], 250), cluster.primary.port);
      assert.equal(deadDials - before, 2, 'dialled again after the interval');
      // Memory orders hosts, it never skips one: with only a standby besides it, the dead host is tried too.
      await assert.rejects(connectOnce([deadPort, standby], 60_000), (error: Error) => {
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${standby}: a standby.*; 127\\.0\\.0\\.1:${deadPort}: `));
        return true;
      });
      assert.equal(deadDials - before, 3);
    });
  });

  // Last: it promotes a standby, which the tests above need as it was.
  it('retires the sessions of a standby config whose server is promoted, and reconnects to a standby', async () => {
    const [promoted, remaining] = cluster.standbys;
    const pgm = new PgManager();
    const releases: ReleaseEvent[] = [];
    const events = hostEvents(pgm);
    pgm.events$.pipe(filter((event): event is ReleaseEvent => event.type === 'release')).subscribe((event) => releases.push(event));
    pgm.createConn({ name: 'reads', connectionString: url([promoted.port, remaining.port], 'target_session_attrs=standby'), poolSize: 2 });
    assert.deepEqual(await portOf(pgm, 'reads'), { port: promoted.port, standby: true });
    assert.equal(pgm.poolState('reads').idle, 1, 'positive control: the session waits idle in the pool');
    await promoted.promote();
    // The idle session learns of the promotion with its next statement (ParameterStatus in_hot_standby = off).
    assert.deepEqual(await portOf(pgm, 'reads'), { port: promoted.port, standby: false });
    const retired = releases.filter((event) => event.reason === 'role_changed');
    assert.equal(retired.length, 1, JSON.stringify(releases));
    assert.equal(retired[0].discarded, true);
    assert.match(retired[0].roleChange ?? '', /was a standby \(in hot standby\) and is now a primary accepting writes, not what target_session_attrs=standby asks for/);
    assert.equal(pgm.poolState('reads').total, 0, 'the retired session is gone from the pool');
    events.length = 0;
    assert.deepEqual(await portOf(pgm, 'reads'), { port: remaining.port, standby: true });
    assert.deepEqual(
      events.map(({ port, outcome }) => `${port} ${outcome}`),
      [`${remaining.port} chosen`],
      'the promoted server, known as a primary now, is tried after the standby',
    );
    await pgm.close();
  });
});
