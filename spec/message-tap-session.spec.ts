// The message tap on real sessions: on where it should be, and when pg's internals are not what
// it expects, a fallback to pg's own parsing that says so once per session and loses nothing; a
// pg that lacks what rxpg drives fails the connect with a typed error, never the process.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { filter, firstValueFrom, lastValueFrom, take, timeout, toArray } from 'rxjs';
import pg from 'pg';
import { ConnectionError, logEventsTo, PgManager, PostgresDriver, type DbEvent, type DriverEvent } from '../src/index.js';
import type { PgConnection } from '../src/postgres/pg-connection.js';
import { openDriverConnection } from './support/driver-connection.js';
import { DATABASE_URL, expectSessions, noSessionsLeft, uniqueName, useAdminClient } from './support/database.js';

const TAP_OFF = process.env.RXPG_MESSAGE_TAP === 'off';

/** Opens one session with `driver` straight through the seam. */
async function open(driver: PostgresDriver, events: DriverEvent[] = []): Promise<PgConnection> {
  const { connection } = await openDriverConnection(driver, DATABASE_URL, 'rxpg_tap', { onDriverEvent: (event) => events.push(event) });
  return connection as PgConnection;
}

/** A pool, a stream and a listen session on `pgm`, checked for correct results. */
async function exercise(pgm: PgManager, channel: string): Promise<void> {
  const rows = await lastValueFrom(pgm.stream<{ n: number; t: string }>("SELECT n, repeat('x', n % 50) AS t FROM generate_series(1, 5000) AS n", [], { batchSize: 700 }).pipe(toArray()));
  assert.equal(rows.length, 5000);
  assert.deepEqual([rows[0].n, rows[4999].n, rows[4999].t.length], [1, 5000, 0]);
  const notes = firstValueFrom(pgm.notifications(channel).pipe(take(3), toArray(), timeout(5000)));
  await firstValueFrom(pgm.listenStatus$().pipe(filter((status) => status.state === 'listening' && status.channels.includes(channel))));
  for (const payload of ['a', 'b', 'c']) await lastValueFrom(pgm.notify(channel, payload), { defaultValue: undefined });
  assert.deepEqual((await notes).map((note) => note.payload), ['a', 'b', 'c']);
}

describe('the message tap on real sessions', () => {
  const admin = useAdminClient();

  it(TAP_OFF ? 'is off for every session when RXPG_MESSAGE_TAP=off, and says nothing' : 'is on for a plain session, and no fallback is reported', async () => {
    const events: DriverEvent[] = [];
    const connection = await open(new PostgresDriver(), events);
    assert.equal(connection.tapped, !TAP_OFF);
    assert.deepEqual(events, []);
    await lastValueFrom(connection.close(), { defaultValue: undefined });
  });

  it('is on when asked for explicitly, off when turned off, whatever the environment', async () => {
    const on = await open(new PostgresDriver({ messageTap: true }));
    const off = await open(new PostgresDriver({ messageTap: false }));
    assert.deepEqual([on.tapped, off.tapped], [true, false]);
    for (const connection of [on, off]) await lastValueFrom(connection.close(), { defaultValue: undefined });
  });

  // pg's own parser throws out of the socket's listener on the first (a crash) and waits for 4 GB
  // on the second (until the connect timeout); the tap ends the session on either at once.
  for (const [what, greeting] of [
    ['greets as MySQL 8 does', Buffer.concat([Buffer.from([0x4a, 0x00, 0x00, 0x00, 0x0a]), Buffer.from('8.0.36\0', 'latin1'), Buffer.from([0xc8, 0, 0, 0, 0x52, 0xc8, 0x00, 0x00]), Buffer.alloc(60, 0x41)])],
    ['sends a header whose length is -1', Buffer.from([0x52, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])],
  ] as const) {
    it(`a server on the port that ${what}: a typed ConnectionError at once, never a loop or a crash`, async () => {
      const server = createServer((socket) => {
        socket.on('error', () => {});
        // Read what the client sends, so its close is seen and server.close() can finish.
        socket.resume();
        socket.write(greeting);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      const pgm = new PgManager({ driver: new PostgresDriver({ messageTap: true }) });
      // A connect timeout far beyond the bound below, so only the greeting can end it in time.
      pgm.createConn({ host: '127.0.0.1', port, user: 'postgres', database: 'test', connectTimeout: 20, acquireTimeout: 30_000 });
      const started = Date.now();
      const error = await firstValueFrom(pgm.query('SELECT 1')).catch((caught: unknown) => caught);
      const elapsed = Date.now() - started;
      assert.ok(error instanceof ConnectionError, String(error));
      assert.ok(elapsed < 5000, `long before the 20 s connect timeout (${elapsed} ms)`);
      await pgm.close();
      await new Promise((resolve) => server.close(resolve));
    });
  }

  describe('when pg’s socket has another data listener', () => {
    const original = (pg as unknown as { Connection: { prototype: { attachListeners(stream: NodeJS.EventEmitter): void } } }).Connection.prototype;
    const attach = original.attachListeners;
    after(() => {
      original.attachListeners = attach;
    });

    it('falls back to pg’s parser with one event per session, and every row and notification still arrives', async () => {
      original.attachListeners = function (this: unknown, stream: NodeJS.EventEmitter) {
        attach.call(this, stream);
        stream.on('data', () => {});
      };
      try {
        const app = uniqueName('rxpg_tap_fallback');
        const pgm = new PgManager({ driver: new PostgresDriver({ messageTap: true }) });
        pgm.createConn({ connectionString: DATABASE_URL, applicationName: app, poolSize: 2 });
        pgm.createConnListen({ copyDsn: 'default', applicationName: app });
        const events: DbEvent[] = [];
        pgm.events$.subscribe((event) => events.push(event));
        const warnings: string[] = [];
        pgm.events$.subscribe(logEventsTo({ debug: () => {}, info: () => {}, warn: (line: unknown) => warnings.push(String(line)), error: () => {} }));
        await exercise(pgm, uniqueName('tap_fallback'));
        const connects = events.filter((event) => event.type === 'connect');
        const fallbacks = events.filter((event) => event.type === 'fallback');
        assert.ok(connects.length >= 2, `a pooled and a listen session opened (${connects.length})`);
        assert.equal(fallbacks.length, connects.length, 'one fallback event per session');
        for (const event of fallbacks) {
          assert.equal(event.type === 'fallback' && event.feature, 'message-tap');
          assert.match(event.type === 'fallback' ? event.detail : '', /2 data listeners/);
        }
        assert.equal(warnings.length, fallbacks.length);
        assert.match(warnings[0], /message-tap is off for this session/);
        await pgm.close();
      } finally {
        original.attachListeners = attach;
      }
    });
  });

  describe('when pg lacks a member rxpg drives', () => {
    const proto = (pg as unknown as { Connection: { prototype: Record<string, unknown> } }).Connection.prototype;
    const sendCopyFail = proto.sendCopyFail;
    after(() => {
      proto.sendCopyFail = sendCopyFail;
    });

    it('fails the connect with a typed error naming it, closes the session, and never rejects unhandled', async () => {
      const app = uniqueName('rxpg_tap_missing');
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      delete proto.sendCopyFail;
      try {
        const pgm = new PgManager();
        pgm.createConn({ connectionString: DATABASE_URL, applicationName: app, acquireTimeout: 3000 });
        const error = await firstValueFrom(pgm.query('SELECT 1')).catch((caught: unknown) => caught);
        assert.ok(error instanceof ConnectionError, String(error));
        assert.match(error.message, /lacks Connection\.sendCopyFail\(\)/);
        proto.sendCopyFail = sendCopyFail;
        // Positive control: the same config works once pg is whole again, and its session shows.
        assert.equal((await firstValueFrom(pgm.query('SELECT 1 AS one'))).one, 1);
        const opened = await expectSessions(admin, app);
        assert.equal(opened.length, 1);
        await pgm.close();
        await noSessionsLeft(admin, app, opened);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(unhandled, []);
      } finally {
        proto.sendCopyFail = sendCopyFail;
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
});
