// A PgBouncer of the test's own, in front of the test server: started on a free loopback port from
// a temporary folder, as an unprivileged user (PgBouncer refuses to run as root), and stopped at
// the end. Uses the machine's `pgbouncer` binary (Debian's package); `.ci/run` installs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { accepts, freePort } from '../../scripts/local-postgres.js';

/** A running PgBouncer. */
export interface LocalPgBouncer {
  /** The test server's URL with PgBouncer's host and port. */
  readonly url: string;
  readonly port: number;
  /** PgBouncer's version line, e.g. `PgBouncer 1.18.0`. */
  readonly version: string;
  /** Runs a command on PgBouncer's admin console (`RECONNECT`, `SHOW SERVERS`). */
  admin(command: string): Promise<Record<string, unknown>[]>;
  /** What PgBouncer logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface LocalPgBouncerOptions {
  /** The server PgBouncer pools connections to (a postgres:// URL). */
  readonly upstream: string;
  readonly poolMode: 'session' | 'transaction';
  /** Server connections per user and database: smaller than a client pool makes clients share them. */
  readonly defaultPoolSize: number;
}

const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/** The pgbouncer binary of this machine, or undefined when it has none. */
export function pgbouncerBinary(): string | undefined {
  for (const path of BINARY) if (spawnSync(path, ['--version'], { stdio: 'ignore' }).status === 0) return path;
  const which = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : undefined;
}

/**
 * Why the PgBouncer tests cannot run here (no binary), or undefined when they can. With
 * `RXPG_REQUIRE_PGBOUNCER=1` (set by `.ci/run`) a missing binary is a failure, not a skip.
 */
export function pgbouncerSkip(): string | false {
  if (pgbouncerBinary() !== undefined) return false;
  const reason = 'no pgbouncer binary on this machine (apt-get install pgbouncer); the PgBouncer tests were SKIPPED';
  if (process.env.RXPG_REQUIRE_PGBOUNCER === '1') throw new Error(`RXPG_REQUIRE_PGBOUNCER=1 but ${reason}`);
  return reason;
}

/** Root cannot run PgBouncer: run it as `postgres` (as the embedded server runs). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || group.status !== 0) throw new Error('PgBouncer does not run as root, and there is no postgres user to run it as.');
  return { uid: Number(id.stdout.trim()), gid: Number(group.stdout.trim()) };
}

export async function startLocalPgBouncer(options: LocalPgBouncerOptions): Promise<LocalPgBouncer> {
  const binary = pgbouncerBinary();
  if (binary === undefined) throw new Error('no pgbouncer binary on this machine');
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim();
  const upstream = new URL(options.upstream);
  const user = decodeURIComponent(upstream.username || 'postgres');
  const password = decodeURIComponent(upstream.password);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rxpg-pgbouncer-'));
  const owner = runAs();
  const quote = (value: string): string => `'${value.replace(/'/g, "''")}'`;
  // Clients are trusted (loopback, a throwaway instance); PgBouncer logs in to the server with the
  // upstream's password, if it has one.
  const server = `host=${upstream.hostname.replace(/^\[|\]$/g, '')} port=${upstream.port || 5432}${password ? ` password=${quote(password)}` : ''}`;
  const files = {
    'pgbouncer.ini': [
      '[databases]',
      `* = ${server}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.defaultPoolSize}`,
      'max_client_conn = 500',
      // pg sends none of these by default; a config's statementTimeout or isolationLevel would.
      'ignore_startup_parameters = extra_float_digits',
      'server_login_retry = 1',
      // The admin console (database `pgbouncer`): RECONNECT makes server connections new, SHOW tells.
      `admin_users = ${user}`,
    ].join('\n') + '\n',
    // With no user= in [databases], PgBouncer logs in to the server with the client's name and this
    // file's password (clients themselves are trusted): the upstream's password, if it has one.
    'userlist.txt': `"${user.replace(/"/g, '""')}" "${password.replace(/"/g, '""')}"\n`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
  if (owner) for (const name of ['', ...Object.keys(files)]) chownSync(join(dir, name), owner.uid, owner.gid);

  let output = '';
  const child: ChildProcess = spawn(binary, [join(dir, 'pgbouncer.ini')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killed);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`PgBouncer did not start on 127.0.0.1:${port}: ${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = new URL(options.upstream);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.password = '';
  const admin = async (command: string): Promise<Record<string, unknown>[]> => {
    const client = new pg.Client({ host: '127.0.0.1', port, user, database: 'pgbouncer' });
    client.on('error', () => {});
    await client.connect();
    try {
      // The admin console speaks the simple protocol only: no parameters.
      return (await client.query(command)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  return { url: url.toString(), port, version, admin, log: () => output, stop };
}
