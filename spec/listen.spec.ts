import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, firstValueFrom, lastValueFrom, map, take, timer, toArray, type Subscription } from 'rxjs';
import { boundedConcatMap, DroppedValues, ListenGap, parseJsonPayload, PgManager, RxpgError, type ListenStatus, type Notification } from '../src/index.js';
import { DATABASE_URL, expectSessions, noSessionsLeft, uniqueName, useAdminClient, waitFor } from './support/database.js';
import { databaseTarget, TcpProxy, throughProxy } from './support/tcp-proxy.js';

function listenManager(options: { channel?: string | string[]; healthCheckInterval?: number } = {}) {
  const app = uniqueName('rxpg_listen');
  const pgm = new PgManager();
  pgm.createConn({ connectionString: DATABASE_URL, applicationName: `${app}_pool` });
  pgm.createConnListen({ name: 'listenconn', copyDsn: 'default', applicationName: app, reconnectDelay: 20, ...options });
  return { pgm, app };
}

async function listening(pgm: PgManager, channels: string[]): Promise<void> {
  let seen: string[] = [];
  await waitFor(async () => {
    seen = await firstValueFrom(pgm.listeningChannels('listenconn')).catch(() => []);
    return JSON.stringify(seen) === JSON.stringify([...channels].sort());
  }, `the listen session LISTENs on exactly ${JSON.stringify(channels)} (saw ${JSON.stringify(seen)})`);
}

describe('LISTEN/NOTIFY', () => {
  const admin = useAdminClient();

  it('delivers payloads unchanged on hostile and case-sensitive channel names', async () => {
    const { pgm } = listenManager();
    const hostile = 'a"; DROP TABLE x; --ü';
    const received: Notification[] = [];
    const subscriptions = ['CHAT', 'chat', hostile].map((channel) => pgm.notifications(channel, { conn: 'listenconn' }).subscribe((note) => received.push(note)));
    await listening(pgm, ['CHAT', 'chat', hostile]);
    const big = 'é'.repeat(3999) + 'x'; // 7,999 bytes of UTF-8
    const payloads = ['', 'not json {', big, '{"ok":true}', "'; DROP TABLE y; --"];
    for (const payload of payloads) await lastValueFrom(pgm.notify(hostile, payload), { defaultValue: null });
    await lastValueFrom(pgm.notify('CHAT', 'upper'), { defaultValue: null });
    await admin.query('SELECT pg_notify($1, $2)', ['chat', 'lower']);
    await waitFor(() => received.length === payloads.length + 2, 'every notification arrived');
    assert.deepEqual(received.filter((note) => note.channel === hostile).map((note) => note.payload), payloads);
    assert.deepEqual(received.filter((note) => note.channel === 'CHAT').map((note) => note.payload), ['upper']);
    assert.deepEqual(received.filter((note) => note.channel === 'chat').map((note) => note.payload), ['lower']);
    const adminPid = (await admin.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    assert.equal(received.at(-1)?.processId, adminPid, 'the sender’s process id');
    assert.ok(received.every((note) => typeof note.receivedAt === 'number'));
    subscriptions.forEach((subscription) => subscription.unsubscribe());
    await pgm.close();
  });

  it('LISTENs with the first subscriber and UNLISTENs after the last: the server stops delivering', async () => {
    const { pgm } = listenManager();
    const first = pgm.notifications('shared', { conn: 'listenconn' }).subscribe();
    const second = pgm.notifications('shared', { conn: 'listenconn' }).subscribe();
    await listening(pgm, ['shared']);
    first.unsubscribe();
    await listening(pgm, ['shared']);
    second.unsubscribe();
    await listening(pgm, []);
    await pgm.close();
  });

  it('listens on the config’s channels from the start, and waitForNotify gives null on timeout', async () => {
    const { pgm } = listenManager({ channel: ['CHAT', 'other'] });
    assert.equal(await firstValueFrom(pgm.waitForNotify('listenconn', { timeout: 200 })), null);
    await listening(pgm, ['CHAT', 'other']);
    const next = firstValueFrom(pgm.waitForNotify('listenconn', { timeout: 5000 }));
    await admin.query(`NOTIFY "CHAT", 'hello'`);
    const note = await next;
    assert.equal(note?.channel, 'CHAT');
    assert.equal(note?.payload, 'hello');
    await pgm.close();
  });

  it('rejects an oversize payload before sending, and delivers a notify in a transaction on commit only', async () => {
    const { pgm } = listenManager();
    assert.throws(() => pgm.notify('c', 'x'.repeat(8000)), (error: unknown) => error instanceof RxpgError && error.code === 'RXPG_NOTIFY_PAYLOAD' && /8000 bytes/.test(error.message));
    assert.throws(() => pgm.notify('x'.repeat(64), 'p'), /truncates identifiers to 63 bytes/);
    const channel = uniqueName('txn');
    const received: string[] = [];
    const subscription = pgm.notifications(channel, { conn: 'listenconn' }).subscribe((note) => received.push(note.payload));
    await listening(pgm, [channel]);
    await lastValueFrom(pgm.transaction((tx) => concat(pgm.notify(channel, 'rolled back', { tx }), tx.query('SELECT 1/0'))), { defaultValue: null }).catch(() => null);
    await lastValueFrom(pgm.transaction((tx) => pgm.notify(channel, 'committed', { tx })), { defaultValue: null });
    await waitFor(() => received.length === 1, 'the committed notification arrived');
    await lastValueFrom(pgm.notify(channel, 'after'), { defaultValue: null });
    await waitFor(() => received.length === 2, 'the next one arrived');
    assert.deepEqual(received, ['committed', 'after']);
    subscription.unsubscribe();
    await pgm.close();
  });

  it('reports a bad JSON payload on that notification alone', async () => {
    const { pgm } = listenManager();
    const channel = uniqueName('json');
    const parsed = firstValueFrom(pgm.notifications(channel, { conn: 'listenconn' }).pipe(parseJsonPayload<{ n: number }>(), take(3), toArray()));
    await listening(pgm, [channel]);
    for (const payload of ['{"n":1}', 'oops', '{"n":3}']) await admin.query('SELECT pg_notify($1, $2)', [channel, payload]);
    const notes = await parsed;
    assert.deepEqual(notes.map((note) => (note.ok ? note.json.n : note.jsonError.name)), [1, 'SyntaxError', 3]);
    await pgm.close();
  });

  it('heals after pg_terminate_backend three times: LISTENs again within 2 s, signals each gap, delivers exactly once', async () => {
    const { pgm, app } = listenManager({ healthCheckInterval: 0 });
    const channel = uniqueName('heal');
    const statuses: ListenStatus[] = [];
    const statusSubscription = pgm.listenStatus$('listenconn').subscribe((status) => statuses.push(status));
    const received: number[] = [];
    const gaps: ListenGap[] = [];
    const subscription: Subscription = pgm.notifications(channel, { conn: 'listenconn', gaps: true }).subscribe((event) => {
      if (event instanceof ListenGap) gaps.push(event);
      else received.push(Number(event.payload));
    });
    await listening(pgm, [channel]);
    let sent = 0;
    const sendSome = async (count: number) => {
      for (let index = 0; index < count; index++) await admin.query('SELECT pg_notify($1, $2)', [channel, String(sent++)]);
    };
    for (let kill = 1; kill <= 3; kill++) {
      await sendSome(20);
      const before = sent;
      await waitFor(() => received.includes(before - 1), 'what was sent while listening arrived');
      const [session] = await expectSessions(admin, app);
      await admin.query('SELECT pg_terminate_backend($1)', [session.pid]);
      const killedAt = Date.now();
      await waitFor(() => gaps.length === kill, `gap ${kill} signalled`, 2000);
      assert.ok(Date.now() - killedAt < 2000, 'listening again within 2 s');
      await listening(pgm, [channel]);
    }
    await sendSome(20);
    await waitFor(() => received.includes(sent - 1), 'the last notifications arrived');
    assert.equal(new Set(received).size, received.length, 'nothing delivered twice');
    assert.deepEqual(received, [...received].sort((a, b) => a - b), 'in order');
    // Everything sent while listening (all of it here: each batch was awaited before the kill) arrived.
    assert.equal(received.length, sent);
    const listenSessions = await expectSessions(admin, app);
    assert.equal(listenSessions.length, 1, 'exactly one listen session');
    assert.equal(statuses.filter((status) => status.state === 'gap').length, 3);
    assert.ok(statuses.some((status) => status.state === 'reconnecting' && status.attempt === 1));
    const killed = statuses.find((status) => status.state === 'reconnecting');
    assert.ok(killed?.state === 'reconnecting' && killed.error.sqlState === '57P01', 'the loss carries the SQLSTATE of pg_terminate_backend');
    assert.match(killed.error.message, /^Listen connection 'listenconn' lost its session: terminating connection due to administrator command \(SQLSTATE 57P01\)\. Reconnecting in \d+ ms\.$/);
    subscription.unsubscribe();
    statusSubscription.unsubscribe();
    await pgm.close();
    await noSessionsLeft(admin, app, listenSessions);
  });

  it('finds a half-open session with its health check and heals once the network is back', async () => {
    const proxy = await TcpProxy.start(databaseTarget());
    const pgm = new PgManager();
    pgm.createConnListen({
      name: 'listenconn',
      ...throughProxy(proxy),
      connectTimeout: 0.5,
      healthCheckInterval: 200,
      healthCheckTimeout: 300,
      reconnectDelay: 50,
      maxReconnectDelay: 200,
    });
    const statuses: ListenStatus[] = [];
    const statusSubscription = pgm.listenStatus$('listenconn').subscribe((status) => statuses.push(status));
    const channel = uniqueName('halfopen');
    const received: string[] = [];
    const subscription = pgm.notifications(channel, { conn: 'listenconn' }).subscribe((note) => received.push(note.payload));
    await listening(pgm, [channel]);
    proxy.freeze();
    const frozenAt = Date.now();
    await waitFor(() => statuses.some((status) => status.state === 'reconnecting'), 'the dead session was noticed', 3000);
    assert.ok(Date.now() - frozenAt < 2000, 'noticed within seconds');
    const noticed = statuses.find((status) => status.state === 'reconnecting');
    assert.match(
      noticed?.state === 'reconnecting' ? noticed.error.message : '',
      /^Listen connection 'listenconn' lost its session: no answer to a health check within 300 ms\. Reconnecting in \d+ ms\.$/,
      'the status says why the session was dropped',
    );
    proxy.thaw();
    await waitFor(() => statuses.some((status) => status.state === 'gap'), 'listening again after the network came back', 5000);
    await listening(pgm, [channel]);
    await admin.query('SELECT pg_notify($1, $2)', [channel, 'after']);
    await waitFor(() => received.includes('after'), 'notifications flow again');
    subscription.unsubscribe();
    statusSubscription.unsubscribe();
    await pgm.close();
    await proxy.stop();
  });

  it('errors subscribers that ask for it when the session is lost', async () => {
    const { pgm, app } = listenManager({ healthCheckInterval: 0 });
    const channel = uniqueName('strict');
    const failed = lastValueFrom(pgm.notifications(channel, { conn: 'listenconn', errorOnReconnect: true })).catch((error: unknown) => error);
    await listening(pgm, [channel]);
    const [session] = await expectSessions(admin, app);
    await admin.query('SELECT pg_terminate_backend($1)', [session.pid]);
    const error = await failed;
    assert.ok(error instanceof RxpgError && error.reason === 'connection', String(error));
    await pgm.close();
  });

  it('keeps LISTEN and UNLISTEN balanced over 10,000 subscribe/unsubscribe cycles on 100 channels', async () => {
    const { pgm } = listenManager();
    const channels = Array.from({ length: 100 }, (_, index) => `cycle_${index}`);
    const kept = channels.slice(0, 10).map((channel) => pgm.notifications(channel, { conn: 'listenconn' }).subscribe());
    await listening(pgm, channels.slice(0, 10));
    const memory = () => {
      global.gc?.();
      const { heapUsed, external, arrayBuffers, rss } = process.memoryUsage();
      return { heapUsed, external, arrayBuffers, rss };
    };
    const growth = (from: ReturnType<typeof memory>, to: ReturnType<typeof memory>) => ({
      heapUsed: to.heapUsed - from.heapUsed,
      external: to.external - from.external,
      arrayBuffers: to.arrayBuffers - from.arrayBuffers,
      rss: to.rss - from.rss,
    });
    const before = memory();
    for (let cycle = 0; cycle < 10_000; cycle++) {
      const channel = channels[(cycle * 37) % 100];
      pgm.notifications(channel, { conn: 'listenconn' }).subscribe().unsubscribe();
    }
    await listening(pgm, channels.slice(0, 10));
    const cycled = growth(before, memory());
    // Positive control: what 10,000 subscriptions cost when they are kept, as a leak would keep them.
    const held = channels.slice(0, 10).flatMap((channel) => Array.from({ length: 1000 }, () => pgm.notifications(channel, { conn: 'listenconn' }).subscribe()));
    const leaked = growth(before, memory());
    held.forEach((subscription) => subscription.unsubscribe());
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MB`;
    const seen = `cycles: ${JSON.stringify(Object.fromEntries(Object.entries(cycled).map(([key, bytes]) => [key, mb(bytes)])))}, 10,000 kept: heap +${mb(leaked.heapUsed)}`;
    // Heap: keeping the cycles' subscriptions costs several times the bound; even keeping only
    // each closed Subscriber object (about 100 bytes) goes past it.
    assert.ok(leaked.heapUsed > 4 * 1048576, `positive control: 10,000 kept subscriptions take more than four times the heap bound (${seen})`);
    assert.ok(cycled.heapUsed < 1048576, `the cycles left at most 1 MB of heap (${seen})`);
    // Buffers: nothing a subscription holds; these catch per-cycle buffers (queued commands) kept.
    assert.ok(cycled.external < 2 * 1048576 && cycled.arrayBuffers < 2 * 1048576, `the cycles left at most 2 MB of buffers (${seen})`);
    // RSS grows tens of MB from the cycles' garbage alone (the heap's young space) and never
    // shrinks, so its bound only catches a gross leak.
    assert.ok(cycled.rss < 128 * 1048576, `RSS grew by less than 128 MB (${seen})`);
    kept.forEach((subscription) => subscription.unsubscribe());
    await listening(pgm, []);
    await pgm.close();
  });

  it('keeps a slow subscriber bounded with boundedConcatMap, counting what it dropped', async () => {
    const { pgm } = listenManager();
    const channel = uniqueName('burst');
    let processed = 0;
    let dropped = 0;
    const subscription = pgm.notifications(channel, { conn: 'listenconn' })
      .pipe(boundedConcatMap(() => timer(1).pipe(map(() => 'done')), { bufferSize: 100, overflow: 'drop' }))
      .subscribe((result) => {
        if (result instanceof DroppedValues) dropped += result.count;
        else processed++;
      });
    await listening(pgm, [channel]);
    // 2,000 notifications in one transaction: delivered together at commit, a burst.
    await admin.query('SELECT pg_notify($1, n::text) FROM generate_series(1, 2000) AS n', [channel]);
    await admin.query('SELECT pg_notify($1, $2)', [channel, 'last']);
    await waitFor(() => processed + dropped === 2001, `every notification processed or counted (${processed} + ${dropped})`, 10_000);
    assert.ok(dropped > 1000, `the burst overflowed the buffer of 100 (${dropped} dropped)`);
    subscription.unsubscribe();
    await pgm.close();
  });

  it('fails at once for an unknown listen config and bad options', () => {
    const { pgm } = listenManager();
    assert.throws(() => pgm.notifications('c', { conn: 'listencon' }), /Unknown listen connection 'listencon' \(did you mean 'listenconn'\?\)/);
    assert.throws(() => pgm.createConnListen({ name: 'x', poolSize: 3 } as never), /has no meaning for a listen connection/);
    assert.throws(() => pgm.createConnListen({ name: 'y', chanel: 'a' } as never), /did you mean 'channel'/);
    assert.throws(() => pgm.createConnListen({ name: 'default' }), /already registered/);
    assert.throws(() => pgm.createConn({ name: 'listenconn' }), /already registered as a listen connection/);
  });
});
