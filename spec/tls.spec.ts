// TLS as libpq does it (sslmode, sslrootcert, client certificates), against two PostgreSQL servers
// of the test's own: one with ssl=on, a CA of the test's making and a pg_hba.conf that uses TLS
// (hostssl … cert for a client-certificate role), and one with TLS off. libpq's reference:
// "SSL Support" in the libpq chapter (the sslmode table), and its fe-connect.c for the fallbacks.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { filter, firstValueFrom, lastValueFrom, take, timeout, toArray } from 'rxjs';
import { ConfigurationError, ConnectionError, PgManager, PostgresDriver, type ConnOptions, type DbEvent, type DriverEvent } from '../src/index.js';
import type { PgConnection } from '../src/postgres/pg-connection.js';
import type { LocalPostgres } from '../scripts/local-postgres.js';
import { startLocalPostgres } from '../scripts/local-postgres.js';
import { uniqueName, waitFor } from './support/database.js';
import { openDriverConnection } from './support/driver-connection.js';
import { testPassword } from './support/secrets.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { makeTestCertificates, PemFolder, startTlsPostgres, type TestCertificates } from './support/tls-server.js';

const TAP_OFF = process.env.RXPG_MESSAGE_TAP === 'off';
const PASSWORD = testPassword('tls-server');
const KEY_PASSPHRASE = testPassword('tls-key');

describe('TLS as libpq does it', { timeout: 240_000 }, () => {
  let certs: TestCertificates;
  let tlsServer: LocalPostgres;
  let plainServer: LocalPostgres;
  let pems: PemFolder;
  let caFile: string;
  let otherCaFile: string;
  let home: string;
  const savedHome = process.env.HOME;

  before(async () => {
    certs = await makeTestCertificates();
    pems = new PemFolder();
    caFile = pems.write('ca.crt', certs.ca.cert);
    otherCaFile = pems.write('other-ca.crt', certs.otherCa.cert);
    [tlsServer, plainServer] = await Promise.all([
      startTlsPostgres(certs, {
        password: PASSWORD,
        hba: [
          'hostssl all certuser 127.0.0.1/32 cert',
          'hostssl all tlsonly 127.0.0.1/32 scram-sha-256',
          'hostnossl all plainonly 127.0.0.1/32 scram-sha-256',
          'host all postgres 127.0.0.1/32 scram-sha-256',
        ],
      }),
      startLocalPostgres({ password: PASSWORD }),
    ]);
    const admin = new PgManager();
    admin.createConn({ connectionString: `${tlsServer.url}?sslmode=disable`, poolSize: 1 });
    for (const role of ['certuser', 'tlsonly', 'plainonly']) {
      await lastValueFrom(admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'`), { defaultValue: undefined });
    }
    await admin.close();
    // libpq reads ~/.postgresql/root.crt, postgresql.crt and postgresql.key: a home of our own,
    // empty unless a test puts them there, so the machine's files never take part.
    home = mkdtempSync(join(tmpdir(), 'rxpg-tls-home-'));
    process.env.HOME = home;
  });
  after(async () => {
    process.env.HOME = savedHome;
    await Promise.all([tlsServer?.remove(), plainServer?.remove()]);
    pems?.remove();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** A URL to `server` as `user` (postgres by default) on `host` (127.0.0.1), with libpq parameters. */
  const urlTo = (server: LocalPostgres, parameters: Record<string, string> = {}, { user = 'postgres', host = '127.0.0.1' } = {}): string => {
    const query = new URLSearchParams(parameters).toString();
    return `postgres://${user}:${encodeURIComponent(PASSWORD)}@${host}:${server.port}/postgres${query ? `?${query}` : ''}`;
  };

  /** Connects with `options` and says whether the session uses TLS (pg_stat_ssl) and as whom. */
  const sessionOf = async (options: ConnOptions): Promise<{ ssl: boolean; user: string }> => {
    const pgm = new PgManager();
    pgm.createConn({ poolSize: 1, connectTimeout: 20, ...options });
    try {
      const row = await firstValueFrom(pgm.query<{ ssl: boolean; user: string }>('SELECT ssl, current_user AS user FROM pg_stat_ssl WHERE pid = pg_backend_pid()'));
      return { ssl: row.ssl, user: row.user };
    } finally {
      await pgm.close();
    }
  };

  /** Connects with `options`, which must fail, and returns the error. */
  const connectError = async (options: ConnOptions): Promise<ConnectionError> => {
    const pgm = new PgManager();
    pgm.createConn({ poolSize: 1, connectTimeout: 20, ...options });
    try {
      await firstValueFrom(pgm.query('SELECT 1'));
    } catch (error) {
      assert.ok(error instanceof ConnectionError, `a ConnectionError, got ${String(error)}`);
      return error;
    } finally {
      await pgm.close();
    }
    assert.fail(`connected with ${JSON.stringify(options)}`);
  };

  describe('each sslmode against a server with TLS', () => {
    const cases: [string, Record<string, string>, boolean, { host?: string }?][] = [
      ['disable', { sslmode: 'disable' }, false],
      ['allow (plain first, and the server takes it)', { sslmode: 'allow' }, false],
      ['prefer', { sslmode: 'prefer' }, true],
      ['no sslmode at all (libpq: prefer)', {}, true],
      ['require (any certificate)', { sslmode: 'require' }, true],
      ['verify-ca with the CA', { sslmode: 'verify-ca', sslrootcert: '<ca>' }, true],
      ['verify-full with the CA and the certificate’s host name', { sslmode: 'verify-full', sslrootcert: '<ca>' }, true, { host: 'localhost' }],
    ];
    for (const [title, parameters, encrypted, target] of cases) {
      it(`${title}: ${encrypted ? 'TLS' : 'plain text'}`, async () => {
        const resolved = Object.fromEntries(Object.entries(parameters).map(([key, value]) => [key, value === '<ca>' ? caFile : value]));
        assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, resolved, target) }), { ssl: encrypted, user: 'postgres' });
      });
    }
  });

  describe('each sslmode against a server without TLS', () => {
    for (const mode of ['disable', 'allow', 'prefer', undefined]) {
      it(`${mode ?? 'no sslmode'}: plain text`, async () => {
        assert.deepEqual(await sessionOf({ connectionString: urlTo(plainServer, mode ? { sslmode: mode } : {}) }), { ssl: false, user: 'postgres' });
      });
    }
    for (const mode of ['require', 'verify-ca', 'verify-full']) {
      it(`${mode}: refused, not retryable, saying the server has no TLS`, async () => {
        const parameters: Record<string, string> = mode === 'require' ? { sslmode: mode } : { sslmode: mode, sslrootcert: caFile };
        const error = await connectError({ connectionString: urlTo(plainServer, parameters) });
        assert.equal(error.reason, 'connection');
        assert.equal(error.isRetryable, false);
        assert.match(error.message, new RegExp(`the server does not support SSL connections, and sslmode=${mode} needs TLS`));
        assert.match(error.message, /turn ssl on at the server, or use sslmode=prefer/i);
      });
    }
  });

  describe("the server's certificate", () => {
    it('verify-full refuses a host name the certificate does not name, and lists the names it has', async () => {
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'verify-full', sslrootcert: caFile }) });
      assert.equal(error.isRetryable, false);
      assert.match(error.message, /host name '127\.0\.0\.1' does not match the server's certificate, which is for DNS:localhost/);
      assert.match(error.message, /sslmode=verify-full/);
    });

    it('verify-ca takes the same certificate on that address: it checks the chain, not the name', async () => {
      assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'verify-ca', sslrootcert: caFile }) }), { ssl: true, user: 'postgres' });
    });

    it('verify-ca refuses a certificate from a CA it does not trust', async () => {
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'verify-ca', sslrootcert: otherCaFile }) });
      assert.equal(error.isRetryable, false);
      assert.match(error.message, /the server's certificate \(CN=localhost, issued by CN=rxpg test CA\) is not signed by a CA in sslrootcert/);
      assert.ok(error.message.includes(otherCaFile), 'names the file of trusted CAs');
    });

    it('require with a root certificate verifies the chain, as libpq does (verify-ca)', async () => {
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'require', sslrootcert: otherCaFile }) });
      assert.match(error.message, /is not signed by a CA in sslrootcert/);
      assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'require', sslrootcert: caFile }) }), { ssl: true, user: 'postgres' });
    });

    it('verify-ca with no root certificate anywhere is refused before connecting, naming ~/.postgresql/root.crt', async () => {
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'verify-ca' }) });
      assert.equal(error.isRetryable, false);
      assert.ok(error.message.includes(`root certificate file "${join(home, '.postgresql', 'root.crt')}" does not exist`), error.message);
      assert.match(error.message, /sslrootcert=system/);
    });

    it('sslrootcert=system trusts the system’s CAs only: a private CA is refused', async () => {
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'verify-full', sslrootcert: 'system' }, { host: 'localhost' }) });
      assert.equal(error.isRetryable, false);
      assert.match(error.message, /is not signed by a CA in the system's trusted roots \(sslrootcert=system\)/);
    });

    it('sslrootcert=system makes verify-full the default and refuses a weaker sslmode', async () => {
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslrootcert: 'system' }, { host: 'localhost' }) });
      assert.match(error.message, /sslrootcert=system/, 'no fallback to plain text: verify-full');
      const pgm = new PgManager();
      assert.throws(
        () => pgm.createConn({ connectionString: urlTo(tlsServer, { sslmode: 'require', sslrootcert: 'system' }) }),
        (thrown: unknown) => thrown instanceof ConfigurationError && /weak sslmode 'require' may not be used with sslrootcert=system \(use verify-full\)/.test(thrown.message),
      );
    });

    it('a listen config whose TLS cannot work (no root certificate file) errors its subscribers at once: retrying cannot help', async () => {
      const pgm = new PgManager();
      const missing = join(home, 'no-such-ca.crt');
      pgm.createConnListen({ name: 'tls_listen', connectionString: urlTo(tlsServer, { sslmode: 'verify-ca', sslrootcert: missing }), connectTimeout: 10 });
      const started = performance.now();
      const error = await firstValueFrom(pgm.notifications(uniqueName('tls'), { conn: 'tls_listen' }).pipe(timeout(8000))).then(
        () => assert.fail('a notification arrived'),
        (thrown: unknown) => thrown as Error,
      );
      assert.match(error.message, /retrying will not help: .*root certificate file ".*no-such-ca\.crt" does not exist/);
      assert.ok(performance.now() - started < 5000, 'no retries with backoff first');
      await pgm.close();
    });

    it('the Node-options route: ssl: { ca } with sslmode verify-full', async () => {
      const fields = { host: 'localhost', port: tlsServer.port, user: 'postgres', password: PASSWORD, database: 'postgres' };
      assert.deepEqual(await sessionOf({ ...fields, sslmode: 'verify-full', ssl: { ca: certs.ca.cert } }), { ssl: true, user: 'postgres' });
      const error = await connectError({ ...fields, sslmode: 'verify-ca', ssl: { ca: certs.otherCa.cert } });
      assert.match(error.message, /is not signed by a CA in ssl\.ca/);
    });
  });

  describe("libpq's files in ~/.postgresql", () => {
    it('root.crt is read when present: verify-full needs no sslrootcert, and require then checks the chain', async () => {
      const dotFolder = join(home, '.postgresql');
      const files = new PemFolder();
      try {
        // A home of its own per case; HOME is read at connect time, as libpq reads it.
        process.env.HOME = files.path;
        files.write('.postgresql/root.crt', certs.ca.cert);
        assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'verify-full' }, { host: 'localhost' }) }), { ssl: true, user: 'postgres' });
        files.write('.postgresql/root.crt', certs.otherCa.cert);
        const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'require' }) });
        assert.ok(error.message.includes(join(files.path, '.postgresql', 'root.crt')), error.message);
        // prefer falls back to plain text when the TLS attempt fails, as libpq does.
        assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'prefer' }) }), { ssl: false, user: 'postgres' });
      } finally {
        process.env.HOME = home;
        files.remove();
      }
      assert.ok(!dotFolder.startsWith(files.path));
    });

    it('postgresql.crt and postgresql.key are sent when present (hostssl … cert), and a key others can read is refused', async () => {
      const files = new PemFolder();
      const client = await certs.client('certuser');
      try {
        process.env.HOME = files.path;
        files.write('.postgresql/postgresql.crt', client.cert);
        files.write('.postgresql/postgresql.key', client.key);
        assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'require' }, { user: 'certuser' }) }), { ssl: true, user: 'certuser' });
        files.write('.postgresql/postgresql.key', client.key, 0o644);
        const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'require' }, { user: 'certuser' }) });
        assert.equal(error.isRetryable, false);
        assert.match(error.message, /private key file ".*postgresql\.key" has group or world access; file must have permissions u=rw \(0600\) or less/);
      } finally {
        process.env.HOME = home;
        files.remove();
      }
    });
  });

  describe('client certificates', () => {
    it('hostssl … cert: sslcert and sslkey authenticate the role; without them the server refuses', async () => {
      const client = await certs.client('certuser');
      const cert = pems.write('certuser.crt', client.cert);
      const key = pems.write('certuser.key', client.key);
      assert.deepEqual(
        await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'verify-full', sslrootcert: caFile, sslcert: cert, sslkey: key }, { user: 'certuser', host: 'localhost' }) }),
        { ssl: true, user: 'certuser' },
      );
      const refused = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'require' }, { user: 'certuser' }) });
      assert.equal(refused.reason, 'authentication');
      assert.equal(refused.isRetryable, false);
    });

    it('an encrypted key opens with the right sslpassword; a wrong or missing one is a typed error before connecting', async () => {
      const client = await certs.encryptedClient('certuser', KEY_PASSPHRASE);
      const cert = pems.write('certuser-enc.crt', client.cert);
      const key = pems.write('certuser-enc.key', client.key);
      const parameters = { sslmode: 'require', sslcert: cert, sslkey: key };
      assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { ...parameters, sslpassword: KEY_PASSPHRASE }, { user: 'certuser' }) }), { ssl: true, user: 'certuser' });
      const wrong = await connectError({ connectionString: urlTo(tlsServer, { ...parameters, sslpassword: 'not-it' }, { user: 'certuser' }) });
      assert.equal(wrong.isRetryable, false);
      assert.ok(wrong.message.includes(`could not decrypt the client key "${key}": sslpassword is wrong`), wrong.message);
      const missing = await connectError({ connectionString: urlTo(tlsServer, parameters, { user: 'certuser' }) });
      assert.ok(missing.message.includes(`the client key "${key}" is encrypted and no sslpassword was given`), missing.message);
    });

    it('a client certificate from a CA the server does not trust: the server refuses the handshake', async () => {
      const client = await certs.strangerClient('certuser');
      const cert = pems.write('stranger.crt', client.cert);
      const key = pems.write('stranger.key', client.key);
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'require', sslcert: cert, sslkey: key }, { user: 'certuser' }) });
      assert.equal(error.isRetryable, false);
      assert.match(error.message, /the server refused the client certificate .*unknown ca/i);
    });
  });

  describe("libpq's fallbacks", () => {
    it('prefer: the server refuses the TLS session (hostnossl only), so the second attempt is plain text', async () => {
      assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'prefer' }, { user: 'plainonly' }) }), { ssl: false, user: 'plainonly' });
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'require' }, { user: 'plainonly' }) });
      assert.equal(error.reason, 'authentication', 'require does not fall back');
    });

    it('allow: the server refuses the plain session (hostssl only), so the second attempt is TLS', async () => {
      assert.deepEqual(await sessionOf({ connectionString: urlTo(tlsServer, { sslmode: 'allow' }, { user: 'tlsonly' }) }), { ssl: true, user: 'tlsonly' });
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'disable' }, { user: 'tlsonly' }) });
      assert.equal(error.reason, 'authentication', 'disable does not try TLS');
    });
  });

  describe('one connect deadline over both attempts', () => {
    /** Connects through `proxy` with sslmode=prefer and connectTimeout 1 s; returns the error and when it came. */
    const timedOut = async (proxy: TcpProxy): Promise<{ error: unknown; elapsed: number }> => {
      const pgm = new PgManager();
      pgm.createConn({ host: '127.0.0.1', port: proxy.port, user: 'postgres', password: PASSWORD, database: 'postgres', sslmode: 'prefer', connectTimeout: 1, poolSize: 1 });
      const started = performance.now();
      const error = await firstValueFrom(pgm.query('SELECT 1')).then(
        () => assert.fail('connected'),
        (thrown: unknown) => thrown,
      );
      const elapsed = performance.now() - started;
      await pgm.close();
      return { error, elapsed };
    };

    it("prefer against a server without TLS: 'N' after 700 ms, then a startup that stalls on the same connection, fails at 1 s", async () => {
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: plainServer.port });
      try {
        proxy.delay(700);
        // The 'N' is on its way (delayed); nothing after it passes.
        proxy.onServerChunk = () => proxy.freeze();
        const { error, elapsed } = await timedOut(proxy);
        assert.ok(error instanceof ConnectionError && /connectTimeout/.test(error.message), String(error));
        assert.equal(proxy.accepted, 1, "libpq goes on in plain text on the connection that answered 'N'");
        assert.ok(elapsed >= 950 && elapsed < 1500, `failed after ${Math.round(elapsed)} ms`);
        await waitFor(() => proxy.closedByClient === 1, () => `the socket dropped, ${proxy.closedByClient} were`);
      } finally {
        await proxy.stop();
      }
    });

    it("prefer: 'S' after 700 ms, a certificate that does not verify, then a plain attempt that stalls: fails at 1 s, not 1.7 s", async () => {
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: tlsServer.port });
      const files = new PemFolder();
      try {
        // root.crt of a CA that did not sign the server's certificate: prefer verifies, fails, and falls back.
        process.env.HOME = files.path;
        files.write('.postgresql/root.crt', certs.otherCa.cert);
        proxy.delay(700);
        let first = true;
        proxy.onServerChunk = (_chunk, connection) => {
          if (connection === 1 && first) {
            first = false;
            // Only the 'S' is delayed: the handshake after it runs at full speed.
            queueMicrotask(() => proxy.delay(0));
          }
          if (connection === 2) proxy.freeze();
        };
        const { error, elapsed } = await timedOut(proxy);
        assert.ok(error instanceof ConnectionError && /connectTimeout/.test(error.message), String(error));
        assert.equal(proxy.accepted, 2, 'the plain-text attempt followed the failed TLS one');
        assert.ok(elapsed >= 950 && elapsed < 1500, `failed after ${Math.round(elapsed)} ms`);
        await waitFor(() => proxy.closedByClient === 2, () => `both sockets dropped, ${proxy.closedByClient} were`);
      } finally {
        process.env.HOME = home;
        files.remove();
        await proxy.stop();
      }
    });

    it('prefer: when both attempts fail, the error tells both', async () => {
      const error = await connectError({ connectionString: urlTo(tlsServer, { sslmode: 'prefer' }).replace(encodeURIComponent(PASSWORD), 'not-the-password') });
      assert.equal(error.reason, 'authentication');
      assert.match(error.message, /password authentication failed for user "postgres".*\(the TLS attempt before it failed too: password authentication failed/);
    });
  });

  describe('the message tap on sessions that negotiated TLS', () => {
    for (const [title, server] of [['prefer, upgraded to TLS', () => tlsServer], ['prefer, where the server has no TLS', () => plainServer]] as const) {
      it(`${title}: ${TAP_OFF ? 'off, as RXPG_MESSAGE_TAP=off says' : 'installed'}, no fallback event`, async () => {
        const events: DriverEvent[] = [];
        const opened = await openDriverConnection(new PostgresDriver(), urlTo(server()), 'rxpg_tls_tap', { onDriverEvent: (event) => events.push(event) });
        const connection = opened.connection as PgConnection;
        assert.equal(connection.tapped, !TAP_OFF);
        assert.deepEqual(events, []);
        await lastValueFrom(connection.close(), { defaultValue: undefined });
      });
    }

    it('streams 10,000 rows and delivers a NOTIFY over a verify-full session with a client certificate', async () => {
      const client = await certs.client('certuser');
      const url = urlTo(
        tlsServer,
        { sslrootcert: caFile, sslmode: 'verify-full', sslcert: pems.write('stream.crt', client.cert), sslkey: pems.write('stream.key', client.key) },
        { user: 'certuser', host: 'localhost' },
      );
      const pgm = new PgManager();
      pgm.createConn({ connectionString: url, poolSize: 1 });
      pgm.createConnListen({ copyDsn: 'default' });
      const events: DbEvent[] = [];
      pgm.events$.subscribe((event) => events.push(event));
      const rows = await lastValueFrom(pgm.stream<{ n: number }>('SELECT n FROM generate_series(1, 10000) AS n', [], { batchSize: 1000 }).pipe(toArray()));
      assert.equal(rows.length, 10_000);
      assert.deepEqual([rows[0].n, rows[9_999].n], [1, 10_000]);
      const channel = uniqueName('tls');
      const note = firstValueFrom(pgm.notifications(channel).pipe(take(1), timeout(5000)));
      await firstValueFrom(pgm.listenStatus$().pipe(filter((status) => status.state === 'listening' && status.channels.includes(channel))));
      await lastValueFrom(pgm.notify(channel, 'over TLS'), { defaultValue: undefined });
      assert.equal((await note).payload, 'over TLS');
      const [session] = await lastValueFrom(pgm.query<{ ssl: boolean }>("SELECT bool_and(ssl) AS ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'certuser'").pipe(toArray()));
      assert.equal(session.ssl, true, 'both sessions use TLS');
      assert.deepEqual(events.filter((event) => event.type === 'fallback'), []);
      await pgm.close();
    });
  });
});
