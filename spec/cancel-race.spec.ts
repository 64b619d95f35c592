// The cancel race on a real server: a consumer that unsubscribes on the first row (firstValueFrom,
// take(1)) of a statement whose end arrived in the same socket chunk must not cost a
// CancelRequest, which is a TCP connection of its own. Counted at a loopback proxy in front of
// the server, which sees every connection rxpg opens (sessions and cancels alike).
// marbles/pool-timing.spec.ts proves the same on the scripted driver.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { count, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { PgManager } from '../src/index.js';
import { sessionsOf, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

describe('cancel race through a proxy: a CancelRequest only for a statement still running', () => {
  const admin = useAdminClient();
  let proxy: TcpProxy;
  before(async () => {
    proxy = await TcpProxy.start(databaseTarget(), { halfClose: true });
  });
  after(() => proxy.stop());

  /** A pool of one session through the proxy; `sessions` collects the server pids it opened. */
  const manager = () => {
    const app = uniqueName('rxpg_cancel_race');
    const pgm = new PgManager();
    pgm.createConn({ ...throughProxy(proxy), applicationName: app, poolSize: 1 });
    const sessions = new Set<number>();
    pgm.events$.subscribe((event) => {
      if (event.type === 'connect') sessions.add(event.processId);
    });
    return { pgm, app, sessions };
  };

  /**
   * A statement read to its end. The session holds every statement back until a cancel sent
   * before it has been delivered (the server closed the cancel's socket, which the half-close
   * proxy passes on only then), so once this has completed every earlier cancel was counted.
   */
  const barrier = async (pgm: PgManager): Promise<void> => {
    assert.equal(await lastValueFrom(pgm.query('SELECT n FROM generate_series(1, 3) AS n').pipe(count())), 3);
  };

  it('200 × firstValueFrom and 200 × take(1) on small results open no connection beyond the pool’s one session', async () => {
    const { pgm, sessions } = manager();
    const accepted = proxy.accepted;
    const cancels = proxy.cancelRequests;
    for (let index = 0; index < 200; index++) {
      // Simple protocol (no parameters) and extended protocol (parameters) alternate.
      const row = await firstValueFrom(index % 2 === 0 ? pgm.query<{ n: number }>(`SELECT ${index} AS n`) : pgm.query<{ n: number }>('SELECT $1::int AS n', [index]));
      assert.equal(row.n, index);
      const first = await lastValueFrom(pgm.query<{ n: number }>('SELECT n FROM generate_series(1, 5) AS n').pipe(take(1), toArray()));
      assert.deepEqual(first.map((taken) => taken.n), [1]);
    }
    await barrier(pgm);
    assert.equal(sessions.size, 1, 'one pooled session served all 401 statements');
    assert.equal(proxy.cancelRequests - cancels, 0, 'no CancelRequest for a statement that had already ended');
    assert.equal(proxy.accepted - accepted, sessions.size, 'the proxy accepted the pool’s session and nothing else');
    assert.equal(pgm.poolState().idle, 1);
    await pgm.close();
  });

  it('positive control: firstValueFrom on a result still streaming, and unsubscribing from pg_sleep, each send one CancelRequest', async () => {
    const { pgm, app, sessions } = manager();
    await barrier(pgm);
    const accepted = proxy.accepted;
    const cancels = proxy.cancelRequests;

    // The same path as above, but the server is still producing rows when the first one arrives.
    const first = await firstValueFrom(pgm.query<{ n: number }>('SELECT generate_series(1, 50000000) AS n'));
    assert.equal(first.n, 1);
    await barrier(pgm);
    assert.equal(proxy.cancelRequests - cancels, 1, 'a CancelRequest stopped the long result');
    assert.equal(proxy.accepted - accepted, 1, 'on a connection of its own');

    const sleeping = pgm.query('SELECT pg_sleep(30)').subscribe({ error: () => {} });
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.state === 'active' && /pg_sleep/.test(session.query)), 'pg_sleep runs');
    sleeping.unsubscribe();
    await barrier(pgm);
    assert.equal(proxy.cancelRequests - cancels, 2, 'a CancelRequest stopped pg_sleep');
    assert.equal(proxy.accepted - accepted, 2);
    assert.deepEqual(
      (await sessionsOf(admin, app)).map((session) => session.state),
      ['idle'],
      'the one session is idle again: both statements were stopped on the server',
    );
    assert.equal(sessions.size, 1, 'the session survived both cancels');
    await pgm.close();
  });
});
