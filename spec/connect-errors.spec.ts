// What a failed connect says, and whether it says to retry: only a failure that can pass by
// itself (refused, reset, timed out, the server starting up or out of connections) is
// retryable; a missing database, a missing or wrong password are not, and say so.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { lastValueFrom } from 'rxjs';
import { ConnectionError, PgManager, type RxpgError } from '../src/index.js';
import { MyManager } from '../src/mysql.js';
import { startLocalPostgres, type LocalPostgres } from '../scripts/local-postgres.js';
import { backendSkip } from './support/backends.js';
import { DATABASE_URL, uniqueName } from './support/database.js';
import { testPassword } from './support/secrets.js';

const SCRAM_PASSWORD = testPassword('scram');

async function connectError(db: PgManager | MyManager): Promise<RxpgError> {
  const error = await lastValueFrom(db.query('SELECT 1')).catch((caught: unknown) => caught);
  await db.close();
  assert.ok(error instanceof ConnectionError, `a ConnectionError: ${String(error)}`);
  return error;
}

describe('connect errors on postgres', () => {
  it('a missing database (3D000) is not retryable and says which database', async () => {
    const missing = uniqueName('nodb');
    const pgm = new PgManager();
    const url = new URL(DATABASE_URL);
    url.pathname = `/${missing}`;
    pgm.createConn({ connectionString: url.toString(), acquireTimeout: 5000 });
    const error = await connectError(pgm);
    assert.equal(error.isRetryable, false, error.message);
    assert.equal(error.reason, 'undefined_object');
    assert.equal((error as ConnectionError).sqlState, '3D000');
    assert.match(error.message, new RegExp(`database "${missing}" does not exist`));
  });

  it('a server starting up (57P03) is a retryable ConnectionError with its SQLSTATE (a loopback server that answers the startup as Postgres does then)', async () => {
    // A real server answers 57P03 only for the moments it replays WAL; this one says exactly what
    // a backend sends then: 'N' to an SSLRequest (the default sslmode=prefer asks; a server
    // without TLS says no), then, to the startup packet, ErrorResponse FATAL 57P03, and closes.
    const fields = Buffer.from('SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0');
    const reply = Buffer.concat([Buffer.from('E'), Buffer.alloc(4), fields]);
    reply.writeUInt32BE(4 + fields.length, 1);
    const SSL_REQUEST_CODE = 80877103;
    const server = createServer((socket) => {
      socket.on('data', (chunk) => {
        if (chunk.length === 8 && chunk.readUInt32BE(4) === SSL_REQUEST_CODE) socket.write('N');
        else socket.end(reply);
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const pgm = new PgManager();
      pgm.createConn({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, user: 'postgres', database: 'test', acquireTimeout: 5000 });
      const error = (await connectError(pgm)) as ConnectionError;
      assert.equal(error.sqlState, '57P03', error.message);
      assert.equal(error.isRetryable, true, error.message);
      assert.match(error.message, /starting up/);
    } finally {
      server.close();
    }
  });

  it('a refused connection stays retryable (the control)', async () => {
    const pgm = new PgManager();
    pgm.createConn({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'test', connectTimeout: 2, acquireTimeout: 5000 });
    const error = await connectError(pgm);
    assert.equal(error.reason, 'connection');
    assert.equal(error.isRetryable, true, error.message);
  });

  describe('against a server with scram-sha-256 auth (embedded)', { timeout: 120_000 }, () => {
    let server: LocalPostgres;
    const saved = { PGPASSWORD: process.env.PGPASSWORD, PGPASSFILE: process.env.PGPASSFILE };
    before(async () => {
      // Three connections at most, none kept for superusers: the fourth is refused with 53300.
      server = await startLocalPostgres({ password: SCRAM_PASSWORD, settings: { max_connections: '3', superuser_reserved_connections: '0' } });
      // No password from the environment or a ~/.pgpass: the config's is all there is.
      delete process.env.PGPASSWORD;
      process.env.PGPASSFILE = `/nonexistent/${uniqueName('pgpass')}`;
    });
    after(async () => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await server?.remove();
    });

    it('no password is an authentication error that says a password is needed, not a retryable one', async () => {
      const pgm = new PgManager();
      pgm.createConn({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres', acquireTimeout: 5000 });
      const error = await connectError(pgm);
      assert.equal(error.reason, 'authentication', error.message);
      assert.equal(error.isRetryable, false, error.message);
      assert.match(error.message, /asked for a password \(SCRAM-SHA-256\) and none was given/);
      assert.match(error.message, /password option, the connection string, PGPASSWORD or ~\/\.pgpass/);
      assert.doesNotMatch(error.message, /client password must be a string/);
    });

    it('a wrong password is an authentication error too, and the right one connects (the controls)', async () => {
      const wrong = new PgManager();
      wrong.createConn({ host: '127.0.0.1', port: server.port, user: 'postgres', password: testPassword('wrong'), database: 'postgres', acquireTimeout: 5000 });
      const error = await connectError(wrong);
      assert.equal(error.reason, 'authentication');
      assert.equal((error as ConnectionError).sqlState, '28P01');
      assert.equal(error.isRetryable, false);
      const right = new PgManager();
      right.createConn({ host: '127.0.0.1', port: server.port, user: 'postgres', password: SCRAM_PASSWORD, database: 'postgres', acquireTimeout: 5000 });
      const row = await lastValueFrom(right.query<{ one: number }>('SELECT 1 AS one'));
      assert.equal(row.one, 1);
      await right.close();
    });

    it('too many connections (53300) is a retryable ConnectionError with its SQLSTATE, and connects once one is free (the control)', async () => {
      const held: pg.Client[] = [];
      try {
        // Fill every slot (max_connections 3) from outside rxpg.
        for (let slot = 0; slot < 3; slot++) {
          const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', password: SCRAM_PASSWORD, database: 'postgres' });
          client.on('error', () => {});
          await client.connect();
          held.push(client);
        }
        const full = new PgManager();
        full.createConn({ host: '127.0.0.1', port: server.port, user: 'postgres', password: SCRAM_PASSWORD, database: 'postgres', acquireTimeout: 5000 });
        const error = (await connectError(full)) as ConnectionError;
        assert.equal(error.sqlState, '53300', error.message);
        assert.equal(error.reason, 'insufficient_resources', error.message);
        assert.equal(error.isRetryable, true, error.message);
        await held.pop()?.end();
        const right = new PgManager();
        right.createConn({ host: '127.0.0.1', port: server.port, user: 'postgres', password: SCRAM_PASSWORD, database: 'postgres', acquireTimeout: 5000 });
        assert.equal((await lastValueFrom(right.query<{ one: number }>('SELECT 1 AS one'))).one, 1);
        await right.close();
      } finally {
        for (const client of held) await client.end();
      }
    });
  });
});

describe('connect errors on mysql', () => {
  it('a missing database is not retryable', { skip: backendSkip('mysql') }, async () => {
    const missing = uniqueName('nodb');
    const url = new URL(process.env.MYSQL_URL as string);
    url.pathname = `/${missing}`;
    const mym = new MyManager();
    mym.createConn({ connectionString: url.toString(), acquireTimeout: 5000 });
    const error = await connectError(mym);
    assert.equal(error.isRetryable, false, error.message);
    assert.equal(error.reason, 'undefined_object');
    assert.match(error.message, new RegExp(missing));
  });
});
