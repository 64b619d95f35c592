// Several hosts in one config, tried as libpq tries them: in order (or shuffled with
// load_balance_hosts=random), each under its own connect_timeout, and kept only when the server
// suits target_session_attrs — against a primary and a streaming standby of the test's own.
// Driven through the driver seam with the host list given as the parsed params carry it.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, timer } from 'rxjs';
import { ConnectionError, PgManager, PostgresDriver, type DriverConnection, type ConnectionParams } from '../src/index.js';
import { hostOrder, suits } from '../src/postgres/connect-to-hosts.js';
import { postgresParams, type PostgresConnectionParams, type PostgresHost, type TargetSessionAttrs } from '../src/postgres/postgres-connection-params.js';
import { serverRole } from '../src/postgres/server-role.js';
import type { PgConnection } from '../src/postgres/pg-connection.js';
import { startLocalCluster, type LocalCluster } from '../scripts/local-cluster.js';
import { freePort } from '../scripts/local-postgres.js';
import { waitFor } from './support/database.js';
import { plainSessionSettings } from './support/driver-connection.js';
import { testPassword } from './support/secrets.js';

const driver = new PostgresDriver();
const settings = plainSessionSettings('rxpg_multi_host');

describe('several hosts and target_session_attrs (a primary and a standby of the test’s own)', () => {
  let cluster: LocalCluster;
  let refused: number;
  let silent: Server;
  let silentPort: number;
  const held: Socket[] = [];

  before(async () => {
    cluster = await startLocalCluster({ password: testPassword('multi_host') });
    refused = await freePort();
    // Accepts TCP and never answers: a host that hangs, for connect_timeout.
    silent = createServer((socket) => held.push(socket));
    silentPort = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
  });

  after(async () => {
    for (const socket of held) socket.destroy();
    silent.close();
    await cluster.remove();
  });

  const host = (port: number): PostgresHost => ({ host: '127.0.0.1', hostaddr: undefined, port });
  const primary = (): PostgresHost => host(cluster.primary.port);
  const standby = (): PostgresHost => host(cluster.standbys[0].port);

  /** The params the parser would give for `host=…,… target_session_attrs=…`. */
  function params(hosts: PostgresHost[], targetSessionAttrs: TargetSessionAttrs, extra: Partial<PostgresConnectionParams> = {}): ConnectionParams {
    const base = postgresParams(driver.resolveConnection({ connectionString: cluster.primary.url }, settings, 'multi').params);
    // libpq's behaviour, every connect on its own: no memory of the hosts (see the hostRecheck tests).
    const full = { ...base, hosts, host: hosts[0].host, port: hosts[0].port, targetSessionAttrs, hostRecheckMillis: 0, ...extra };
    Object.defineProperty(full, 'password', { value: base.password, enumerable: false });
    return full;
  }

  async function connect(hosts: PostgresHost[], attrs: TargetSessionAttrs, extra: Partial<PostgresConnectionParams> = {}): Promise<{ port: number; recovery: boolean; connection: DriverConnection }> {
    const connection = await firstValueFrom(driver.connect(params(hosts, attrs, extra), { onNotice: () => {}, onLost: () => {} }));
    const rows: unknown[][] = [];
    await new Promise<void>((resolve, reject) =>
      connection.run("SELECT current_setting('port')::int, pg_is_in_recovery()", [], { row: (_shape, values) => rows.push(values), complete: () => resolve(), error: reject }),
    );
    return { port: rows[0][0] as number, recovery: rows[0][1] as boolean, connection };
  }

  async function connected(hosts: PostgresHost[], attrs: TargetSessionAttrs, extra?: Partial<PostgresConnectionParams>): Promise<{ port: number; recovery: boolean }> {
    const { port, recovery, connection } = await connect(hosts, attrs, extra);
    await lastValueFrom(connection.close(), { defaultValue: undefined });
    return { port, recovery };
  }

  it('takes the first host that opens and suits, skipping refused hosts and unsuitable servers', async () => {
    assert.deepEqual(await connected([host(refused), standby(), primary()], 'read-write'), { port: cluster.primary.port, recovery: false });
    assert.deepEqual(await connected([primary(), standby()], 'standby'), { port: cluster.standbys[0].port, recovery: true });
    assert.deepEqual(await connected([standby(), primary()], 'primary'), { port: cluster.primary.port, recovery: false });
    assert.deepEqual(await connected([primary(), standby()], 'read-only'), { port: cluster.standbys[0].port, recovery: true });
    assert.deepEqual(await connected([host(refused), standby(), primary()], 'any'), { port: cluster.standbys[0].port, recovery: true }, 'any: the first that opens');
  });

  it('prefer-standby takes a standby when one answers, else any server on a second pass', async () => {
    assert.deepEqual(await connected([primary(), standby()], 'prefer-standby'), { port: cluster.standbys[0].port, recovery: true });
    assert.deepEqual(await connected([host(refused), primary()], 'prefer-standby'), { port: cluster.primary.port, recovery: false });
  });

  it('fails with one typed error that names every host and why it was passed over', async () => {
    const error = await firstValueFrom(driver.connect(params([host(refused), standby()], 'read-write'), { onNotice: () => {}, onLost: () => {} })).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.isRetryable, true, 'a standby may be promoted, a refused host may come up');
    assert.match(
      error.message,
      new RegExp(
        `^no host of 2 was suitable \\(target_session_attrs=read-write\\): 127\\.0\\.0\\.1:${refused}: .*ECONNREFUSED.*; ` +
          `127\\.0\\.0\\.1:${cluster.standbys[0].port}: a standby \\(in hot standby\\), not read-write \\(target_session_attrs=read-write\\)$`,
      ),
    );
    assert.doesNotMatch(error.message, new RegExp(testPassword('multi_host')), 'never the password');
  });

  it('gives each host its own connect_timeout: a host that never answers is left after it', async () => {
    const started = Date.now();
    const { port } = await connected([host(silentPort), primary()], 'any', { connectTimeoutSeconds: 2 });
    const waited = Date.now() - started;
    assert.equal(port, cluster.primary.port);
    assert.ok(held.length >= 1, 'positive control: the silent host took the first attempt');
    assert.ok(waited >= 1900 && waited < 8000, `moved on after ${waited} ms (connect_timeout 2 s)`);
  });

  it('asks the server what it is when it does not report in_hot_standby (servers before 14)', async () => {
    for (const [server, expected] of [
      [cluster.primary, { inHotStandby: false, readOnly: false }],
      [cluster.standbys[0], { inHotStandby: true, readOnly: false }],
    ] as const) {
      const { connection } = await connect([host(server.port)], 'any');
      const pg = connection as PgConnection;
      assert.equal(pg.serverParameters.get('in_hot_standby'), expected.inHotStandby ? 'on' : 'off', 'positive control: reported at startup');
      assert.equal(pg.serverParameters.get('default_transaction_read_only'), 'off');
      assert.deepEqual(await firstValueFrom(serverRole({ serverParameters: new Map(), run: pg.run.bind(pg) })), expected);
      assert.deepEqual(await firstValueFrom(serverRole(pg)), expected);
      await lastValueFrom(connection.close(), { defaultValue: undefined });
    }
  });

  it('leaves no session behind when the caller gives up mid-way (while connecting or while asking a server what it is)', async () => {
    const sessions = async (): Promise<number> => {
      let total = 0;
      for (const server of [cluster.primary, ...cluster.standbys]) {
        const { connection } = await connect([host(server.port)], 'any', {});
        const rows: unknown[][] = [];
        await new Promise<void>((resolve, reject) =>
          connection.run("SELECT count(*)::int FROM pg_stat_activity WHERE application_name = 'rxpg_multi_host' AND pid <> pg_backend_pid()", [], {
            row: (_shape, values) => rows.push(values),
            complete: () => resolve(),
            error: reject,
          }),
        );
        await lastValueFrom(connection.close(), { defaultValue: undefined });
        total += rows[0][0] as number;
      }
      return total;
    };
    const holding = await connect([primary()], 'any');
    assert.equal(await sessions(), 1, 'positive control: an open session is counted');
    await lastValueFrom(holding.connection.close(), { defaultValue: undefined });
    for (const after of [0, 2, 5, 10, 20, 40]) {
      // A session handed over before the give-up is the caller's to close; the test closes it.
      const subscription = driver
        .connect(params([primary(), standby()], 'standby'), { onNotice: () => {}, onLost: () => {} })
        .subscribe({ next: (delivered) => void lastValueFrom(delivered.close(), { defaultValue: undefined }), error: () => {} });
      await lastValueFrom(timer(after));
      subscription.unsubscribe();
    }
    const deadline = Date.now() + 5000;
    let left = await sessions();
    while (left > 0 && Date.now() < deadline) {
      await lastValueFrom(timer(50));
      left = await sessions();
    }
    assert.equal(left, 0, 'no session of an abandoned attempt is left on either server');
  });

  it('reads host lists and target_session_attrs from a connection string, through PgManager', async () => {
    const raw = testPassword('multi_host');
    const password = encodeURIComponent(raw);
    const list = `127.0.0.1:${refused},127.0.0.1:${cluster.standbys[0].port},127.0.0.1:${cluster.primary.port}`;
    const pgm = new PgManager();
    pgm.createConn({ name: 'writes', connectionString: `postgresql://postgres:${password}@${list}/postgres?target_session_attrs=read-write`, poolSize: 2 });
    pgm.createConn({ name: 'reads', dsn: `host=127.0.0.1,127.0.0.1 port=${cluster.primary.port},${cluster.standbys[0].port} user=postgres password='${raw.replace(/['\\]/g, '\\$&')}' dbname=postgres target_session_attrs=prefer-standby` });
    const where = (conn: string) => firstValueFrom(pgm.query<{ port: number; recovery: boolean }>("SELECT current_setting('port')::int AS port, pg_is_in_recovery() AS recovery", [], { conn }));
    assert.deepEqual({ ...(await where('writes')).toObject() }, { port: cluster.primary.port, recovery: false });
    assert.deepEqual({ ...(await where('reads')).toObject() }, { port: cluster.standbys[0].port, recovery: true });
    await pgm.close();
  });

  it('a listen config with several hosts listens on the primary, wherever it is in the list', async () => {
    const password = encodeURIComponent(testPassword('multi_host'));
    const channel = `rxpg_multi_${process.pid}`;
    const pgm = new PgManager();
    pgm.createConnListen({
      name: 'events',
      connectionString: `postgresql://postgres:${password}@127.0.0.1:${cluster.standbys[0].port},127.0.0.1:${cluster.primary.port}/postgres`,
      channel,
    });
    const received = firstValueFrom(pgm.notifications(channel, { conn: 'events' }));
    await waitFor(async () => (await firstValueFrom(pgm.listeningChannels('events')).catch((): string[] => [])).includes(channel), 'the listen session listens');
    const notifier = new PgManager();
    notifier.createConn({ connectionString: cluster.primary.url });
    await lastValueFrom(notifier.notify(channel, 'to the primary'), { defaultValue: null });
    assert.equal((await received).payload, 'to the primary');
    await notifier.close();
    await pgm.close();
  });

  it('follows a promotion: after the standby is promoted, read-write finds it', async () => {
    // The primary goes away and the standby takes over, as in a failover.
    await cluster.primary.stop('immediate');
    await cluster.standbys[0].promote();
    const deadline = Date.now() + 10_000;
    let found: { port: number; recovery: boolean } | undefined;
    while (found === undefined) {
      found = await connected([primary(), standby()], 'read-write').catch((error: unknown) => {
        if (Date.now() > deadline) throw error;
        return undefined;
      });
      if (found === undefined) await lastValueFrom(timer(100));
    }
    assert.deepEqual(found, { port: cluster.standbys[0].port, recovery: false });
    await cluster.primary.start();
  });
});

describe('target_session_attrs decisions (no database)', () => {
  it('decides as libpq does for each kind of server', () => {
    const primary = { inHotStandby: false, readOnly: false };
    const readOnlyPrimary = { inHotStandby: false, readOnly: true };
    const standby = { inHotStandby: true, readOnly: false };
    const table: [Exclude<TargetSessionAttrs, 'prefer-standby'>, boolean, boolean, boolean][] = [
      // wanted, primary, read-only primary, standby
      ['any', true, true, true],
      ['read-write', true, false, false],
      ['read-only', false, true, true],
      ['primary', true, true, false],
      ['standby', false, false, true],
    ];
    for (const [wanted, onPrimary, onReadOnly, onStandby] of table) {
      assert.deepEqual([suits(wanted, primary), suits(wanted, readOnlyPrimary), suits(wanted, standby)], [onPrimary, onReadOnly, onStandby], wanted);
    }
  });
});

describe('load_balance_hosts (no database)', () => {
  const hosts = [1, 2, 3, 4].map((port) => ({ host: 'h', hostaddr: undefined, port }));

  it('keeps the order with disable, and shuffles every order with random', () => {
    assert.deepEqual(hostOrder({ hosts, loadBalanceHosts: 'disable' }).map((entry) => entry.port), [1, 2, 3, 4]);
    // A seeded generator: every one of the 24 orders comes up, none far from its share.
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const counts = new Map<string, number>();
    for (let run = 0; run < 2400; run++) {
      const order = hostOrder({ hosts, loadBalanceHosts: 'random' }, random).map((entry) => entry.port).join('');
      counts.set(order, (counts.get(order) ?? 0) + 1);
    }
    assert.equal(counts.size, 24);
    for (const [order, count] of counts) assert.ok(count > 50 && count < 150, `${order} came ${count} times of 2400 (expected about 100)`);
  });
});
