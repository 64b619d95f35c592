// A server restart under the pools and the listen session, on an embedded PostgreSQL of the
// test's own (never the machine's shared server): both recover without a process restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { ConnectionError, PgManager, type ListenStatus } from '../src/index.js';
import { startLocalPostgres, type LocalPostgres } from '../scripts/local-postgres.js';
import { waitFor } from './support/database.js';
import { testPassword } from './support/secrets.js';

const RESTART_PASSWORD = testPassword('restart');

describe('server restart (embedded PostgreSQL)', { timeout: 120_000 }, () => {
  let server: LocalPostgres;
  let port: number;
  before(async () => {
    server = await startLocalPostgres({ password: RESTART_PASSWORD });
    port = server.port;
  });
  after(async () => {
    await server.remove();
  });

  it('pools and the listen connection recover after the server restarts', async () => {
    const pgm = new PgManager({ closeGraceMillis: 500 });
    pgm.createConn({ host: '127.0.0.1', port, user: 'postgres', password: RESTART_PASSWORD, database: 'postgres', connectTimeout: 2, acquireTimeout: 5000 });
    pgm.createConnListen({ name: 'listen', copyDsn: 'default', reconnectDelay: 50, maxReconnectDelay: 300, healthCheckInterval: 500, healthCheckTimeout: 500 });
    const statuses: ListenStatus[] = [];
    const status = pgm.listenStatus$('listen').subscribe((entry) => statuses.push(entry));
    const received: string[] = [];
    const notes = pgm.notifications('restart').subscribe((note) => received.push(note.payload));
    assert.equal((await firstValueFrom(pgm.query('SELECT 1 AS one'))).one, 1);
    await waitFor(() => statuses.some((entry) => entry.state === 'listening'), 'listening before the restart');

    await server.stop();
    const during = await lastValueFrom(pgm.query('SELECT 2')).catch((error: unknown) => error);
    assert.ok(during instanceof ConnectionError, `while down: ${String(during)}`);
    await waitFor(() => statuses.some((entry) => entry.state === 'reconnecting'), 'the listen session noticed', 5000);
    await server.start();

    await waitFor(async () => (await firstValueFrom(pgm.query<{ n: number }>('SELECT 3 AS n')).then((row) => row.n === 3, () => false)), 'the pool serves again', 15_000);
    await waitFor(() => statuses.some((entry) => entry.state === 'gap'), 'the listen session is back and reported the gap', 15_000);
    await lastValueFrom(pgm.notify('restart', 'after'), { defaultValue: null });
    await waitFor(() => received.includes('after'), 'notifications flow again');
    notes.unsubscribe();
    status.unsubscribe();
    const closing = Date.now();
    await pgm.close();
    assert.ok(Date.now() - closing < 3000);
  });
});
