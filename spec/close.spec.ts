import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { ConfigurationError, ConnectionError, PgManager, PoolError, RxpgError } from '../src/index.js';
import { DATABASE_URL, expectSessions, noSessionsLeft, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';
import { testPassword } from './support/secrets.js';

const user = decodeURIComponent(new URL(DATABASE_URL).username || 'postgres');

describe('connecting and closing', () => {
  const admin = useAdminClient();

  it('bounds connecting with connectTimeout against a server that accepts and never answers', async () => {
    const silent = await TcpProxy.start();
    const pgm = new PgManager();
    pgm.createConn({ host: '127.0.0.1', port: silent.port, user, connectTimeout: 0.3, password: testPassword('connect') });
    const started = Date.now();
    const error = await lastValueFrom(pgm.query('SELECT 1')).catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /connectTimeout \(0\.3 s\)/);
    assert.ok(!error.message.includes(testPassword('connect')));
    assert.ok(elapsed >= 280 && elapsed < 2000, `took ${elapsed} ms`);
    await waitFor(() => silent.closedByClient === silent.accepted, 'the timed-out socket was closed, not kept as a zombie');
    await pgm.close();
    await silent.stop();
  });

  it('acquireTimeout covers connecting too: one deadline for queue, TCP and startup', async () => {
    const silent = await TcpProxy.start();
    const pgm = new PgManager();
    pgm.createConn({ host: '127.0.0.1', port: silent.port, user, connectTimeout: 30, acquireTimeout: 250 });
    const started = Date.now();
    const error = await lastValueFrom(pgm.query('SELECT 1')).catch((caught: unknown) => caught);
    const waited = Date.now() - started;
    assert.ok(error instanceof PoolError, String(error));
    assert.equal(error.reason, 'pool_timeout');
    assert.ok(waited >= 245 && waited < 2000, `failed after ${waited} ms, acquireTimeout 250 ms (connectTimeout 30 s)`);
    assert.equal(pgm.poolState().total, 1, 'positive control: the attempt is still connecting');
    const closing = Date.now();
    await pgm.close();
    assert.ok(Date.now() - closing < 1000, 'close() aborts the attempt still connecting');
    await waitFor(() => silent.closedByClient === silent.accepted, 'no socket left open');
    await silent.stop();
  });

  it('close() resolves quickly after a failed connect', async () => {
    const pgm = new PgManager();
    pgm.createConn({ host: '127.0.0.1', port: 1 });
    await lastValueFrom(pgm.query('SELECT 1')).catch(() => null);
    const started = Date.now();
    await pgm.close();
    assert.ok(Date.now() - started < 500);
  });

  it('close() waits out the close grace for a session whose server stopped answering, then destroys it', async () => {
    const proxy = await TcpProxy.start(databaseTarget());
    const app = uniqueName('rxpg_frozen');
    const pgm = new PgManager({ closeGraceMillis: 300 });
    pgm.createConn({ ...throughProxy(proxy), applicationName: app, poolSize: 1 });
    assert.equal((await firstValueFrom(pgm.query('SELECT 1 AS one'))).one, 1);
    const running = lastValueFrom(pgm.query('SELECT pg_sleep(0.6)')).catch((caught: unknown) => caught);
    await waitFor(() => pgm.poolState().inUse === 1, 'the statement holds the lease');
    const before = await expectSessions(admin, app);
    // The statement's answer can never arrive: close() waits the grace for the lease, then destroys it.
    proxy.freeze();
    const started = Date.now();
    await pgm.close();
    const took = Date.now() - started;
    assert.ok(took >= 295 && took < 2000, `close took ${took} ms, closeGraceMillis 300`);
    const error = await running;
    assert.ok(error instanceof ConnectionError, `the statement hears its session was destroyed: ${String(error)}`);
    await proxy.stop();
    // The backend notices its socket is gone when its sleep ends.
    await noSessionsLeft(admin, app, before);
  });

  it('close() waits for a leased session to come back, then ends it; the server shows none', async () => {
    const { pgm, app } = testManager({ poolSize: 3 });
    const started = Date.now();
    let finishedAt = 0;
    const running = lastValueFrom(pgm.query<{ done: string }>("SELECT pg_sleep(0.2), 'done' AS done")).then((row) => {
      finishedAt = Date.now();
      return row;
    });
    await waitFor(() => pgm.poolState().inUse === 1, 'the query holds a lease');
    const before = await expectSessions(admin, app);
    await pgm.close();
    const closedAt = Date.now();
    assert.ok(finishedAt > 0 && finishedAt <= closedAt, 'close() resolved only after the running query finished');
    // At least the 200 ms sleep; far less than the 5 s close grace that would force it.
    assert.ok(closedAt - started >= 195 && closedAt - started < 2000, `close() resolved ${closedAt - started} ms after the query started`);
    assert.equal((await running).done, 'done', 'the running query was allowed to finish');
    await noSessionsLeft(admin, app, before);
  });

  it('closeConn keeps the config (a later query reconnects); destroyConn forgets it', async () => {
    const { pgm, app } = testManager();
    await lastValueFrom(pgm.query('SELECT 1'));
    const first = await expectSessions(admin, app);
    await pgm.closeConn();
    await noSessionsLeft(admin, app, first);
    assert.equal((await firstValueFrom(pgm.query('SELECT 2 AS two'))).two, 2);
    const second = await expectSessions(admin, app);
    await pgm.destroyConn('default');
    await noSessionsLeft(admin, app, second);
    assert.throws(() => pgm.query('SELECT 1'), ConfigurationError);
    assert.throws(() => pgm.closeConn('nope'), /Unknown connection 'nope'/);
  });
  it('a closed manager refuses every query and scope with a typed error, and opens no session', async () => {
    const { pgm, app } = testManager();
    pgm.createConnListen({ name: 'listen', copyDsn: 'default', applicationName: app });
    // Made before close(), subscribed after: refused at subscribe, as a cold observable should be.
    const early = pgm.query('SELECT 1');
    await lastValueFrom(pgm.query('SELECT 1'));
    const before = await expectSessions(admin, app);
    await pgm.close();
    await noSessionsLeft(admin, app, before);
    const refused: [string, Observable<unknown>][] = [
      ['query', early],
      ['query', pgm.query('SELECT 1')],
      ['stream', pgm.stream('SELECT 1')],
      ['streamBatches', pgm.streamBatches('SELECT 1', [], (rows) => rows)],
      ['connection', pgm.connection()],
      ['connection', pgm.connection('default', (conn) => conn.query('SELECT 1'))],
      ['cursor', pgm.cursor((curs) => curs.execute('SELECT 1'))],
      ['transaction', pgm.transaction((tx) => tx.query('SELECT 1'))],
      ['notifications', pgm.notifications('rxpg_closed')],
      ['waitForNotify', pgm.waitForNotify('listen', { timeout: 100 })],
      ['listeningChannels', pgm.listeningChannels('listen')],
    ];
    for (const [method, observable] of refused) {
      const error = await lastValueFrom(observable, { defaultValue: 'no error' }).catch((caught: unknown) => caught);
      assert.ok(error instanceof RxpgError, `${method}: ${String(error)}`);
      assert.equal(error.code, 'RXPG_MANAGER', method);
      assert.equal(error.reason, 'closed', method);
      assert.match(error.message, new RegExp(`^${method}\\(\\) on a PgManager that was closed`), method);
      assert.match(error.message, /new PgManager\(\)/, method);
    }
    // Give a wrongly reopened pool the time to show a session: none may appear.
    await lastValueFrom(pgm.query('SELECT pg_sleep(0)')).catch(() => undefined);
    assert.deepEqual(await expectSessions(admin, app, { allowEmpty: true }), [], 'nothing reopened');
    assert.deepEqual(pgm.poolState(), { size: 10, total: 0, inUse: 0, idle: 0, waiting: 0 });
    await pgm.close();
  });
  it('PgManager.getInstance() keeps returning the closed manager, which keeps refusing', async () => {
    const instance = PgManager.getInstance();
    instance.createConn({ connectionString: DATABASE_URL, applicationName: uniqueName('rxpg_instance') });
    assert.equal((await firstValueFrom(instance.query('SELECT 1 AS n'))).n, 1);
    await instance.close();
    assert.equal(PgManager.getInstance(), instance);
    const error = await firstValueFrom(PgManager.getInstance().query('SELECT 1')).catch((caught: unknown) => caught);
    assert.ok(error instanceof RxpgError && error.reason === 'closed', String(error));
    assert.match(error.message, /PgManager\.getInstance\(\) keeps returning it/);
  });
});
