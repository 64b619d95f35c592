// The message tap on a TLS session: pg reads from the TLS socket it made during the upgrade, and
// the tap is installed on that socket (at the connection's `sslconnect`), where it frames the
// decrypted stream. On a server of the test's own with a throwaway certificate.
import assert from 'node:assert/strict';
import { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { filter, firstValueFrom, lastValueFrom, reduce, take, timeout, toArray } from 'rxjs';
import selfsigned from 'selfsigned';
import { PgManager, PostgresDriver, type DbEvent, type DriverEvent } from '../src/index.js';
import type { PgConnection } from '../src/postgres/pg-connection.js';
import { startLocalPostgres, type LocalPostgres } from '../scripts/local-postgres.js';
import { uniqueName } from './support/database.js';
import { openDriverConnection } from './support/driver-connection.js';
import { testPassword } from './support/secrets.js';

const TAP_OFF = process.env.RXPG_MESSAGE_TAP === 'off';
const PASSWORD = testPassword('tls');

describe('the message tap over TLS', { timeout: 120_000 }, () => {
  let server: LocalPostgres;
  let url: string;
  before(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], { days: 2, keySize: 2048 } as never);
    server = await startLocalPostgres({
      password: PASSWORD,
      files: { 'server.crt': pems.cert, 'server.key': pems.private },
      settings: { ssl: 'on', ssl_cert_file: 'server.crt', ssl_key_file: 'server.key' },
    });
    url = `postgres://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/postgres?sslmode=require`;
  });
  after(async () => {
    await server?.remove();
  });

  it(TAP_OFF ? 'is off over TLS too when RXPG_MESSAGE_TAP=off' : 'is on for a TLS session, and the session really is encrypted', async () => {
    const driver = new PostgresDriver();
    const events: DriverEvent[] = [];
    const opened = await openDriverConnection(driver, url, 'rxpg_tls', { onDriverEvent: (event) => events.push(event) });
    assert.notEqual(opened.params.ssl, false, 'sslmode=require asks for TLS');
    const connection = opened.connection as PgConnection;
    assert.equal(connection.tapped, !TAP_OFF);
    assert.deepEqual(events, []);
    const rows = await new Promise<unknown[][]>((resolve, reject) => {
      const seen: unknown[][] = [];
      connection.run('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', [], { row: (_shape, values) => seen.push(values), complete: () => resolve(seen), error: reject });
    });
    assert.deepEqual(rows, [[true]], 'pg_stat_ssl says this session uses TLS');
    await lastValueFrom(connection.close(), { defaultValue: undefined });
  });

  it('streams rows and delivers notifications over TLS through the tap, and reports no fallback', async () => {
    const pgm = new PgManager({ driver: new PostgresDriver({ messageTap: true }) });
    pgm.createConn({ connectionString: url, poolSize: 1 });
    pgm.createConnListen({ copyDsn: 'default' });
    const events: DbEvent[] = [];
    pgm.events$.subscribe((event) => events.push(event));
    const rows = await lastValueFrom(pgm.stream<{ n: number; t: string }>("SELECT n, repeat('é', n % 40) AS t FROM generate_series(1, 20000) AS n", [], { batchSize: 3000 }).pipe(toArray()));
    assert.equal(rows.length, 20_000);
    assert.deepEqual([rows[0].n, rows[19_999].n, rows[38].t], [1, 20_000, 'é'.repeat(39)]);
    const channel = uniqueName('tls');
    const notes = firstValueFrom(pgm.notifications(channel).pipe(take(3), toArray(), timeout(5000)));
    await firstValueFrom(pgm.listenStatus$().pipe(filter((status) => status.state === 'listening' && status.channels.includes(channel))));
    for (const payload of ['a', 'b', 'c']) await lastValueFrom(pgm.notify(channel, payload), { defaultValue: undefined });
    assert.deepEqual((await notes).map((note) => note.payload), ['a', 'b', 'c']);
    assert.ok(events.filter((event) => event.type === 'connect').length >= 2, 'a pooled and a listen session opened');
    assert.deepEqual(events.filter((event) => event.type === 'fallback'), []);
    await pgm.close();
  });

  // A TLS socket's reads are one record each (16 kB at most), however much data waits: copyTo's
  // wait after a short read (copy-out-collector.ts) would make every read wait one timer tick.
  it('copyTo() over TLS reads as the data comes: no read waits for a timer tick', async () => {
    const pgm = new PgManager({ driver: new PostgresDriver({ messageTap: true }) });
    pgm.createConn({ connectionString: url, poolSize: 1 });
    await firstValueFrom(pgm.query('SELECT 1'));
    const pause = TLSSocket.prototype.pause;
    let pauses = 0;
    TLSSocket.prototype.pause = function (this: TLSSocket) {
      pauses++;
      return pause.call(this);
    };
    try {
      const bytes = await lastValueFrom(pgm.copyTo("COPY (SELECT n, repeat('t', 90) FROM generate_series(1, 50000) AS n) TO STDOUT").pipe(reduce((sum, chunk) => sum + chunk.length, 0)));
      let expected = 0;
      for (let n = 1; n <= 50_000; n++) expected += String(n).length + 92;
      assert.equal(bytes, expected, 'every byte');
    } finally {
      TLSSocket.prototype.pause = pause;
    }
    assert.equal(pauses, 0, `the TLS socket was paused ${pauses} times for a consumer that never asked to wait`);
    await pgm.close();
  });
});
