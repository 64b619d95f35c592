// A MariaDB server of the test's own, for settings a test must not change on the shared server
// (SET GLOBAL would reach every spec running at the same time): a fresh data directory made by
// mariadb-install-db in a temporary folder, mariadbd on a free loopback port with the options
// given, run as the `mysql` user when we are root, stopped and deleted at the end. Uses the
// machine's binaries (Debian's mariadb-server package).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, freePort } from '../../scripts/local-postgres.js';

/** A running private MariaDB. */
export interface LocalMariaDb {
  /** mysql://root@127.0.0.1:PORT/test (root without a password; the `test` database exists). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const SERVER = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/local/sbin/mariadbd'];
const INSTALL = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db', '/usr/local/bin/mariadb-install-db'];
const CLIENT = ['/usr/bin/mariadb', '/usr/bin/mysql', '/usr/local/bin/mariadb'];

const firstOf = (paths: readonly string[]): string | undefined => paths.find((path) => existsSync(path));

/** Why a private MariaDB cannot be started here (a binary missing), or false when it can. */
export function localMariaDbSkip(): string | false {
  const missing = [
    firstOf(SERVER) ? undefined : 'mariadbd',
    firstOf(INSTALL) ? undefined : 'mariadb-install-db',
    firstOf(CLIENT) ? undefined : 'the mariadb client',
  ].filter((name) => name !== undefined);
  return missing.length === 0 ? false : `no ${missing.join(', ')} on this machine (apt-get install mariadb-server): the private MariaDB tests were SKIPPED`;
}

/** Root cannot run mariadbd without --user: run it as `mysql`, who must own its folder. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = spawnSync('id', ['-u', 'mysql'], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', 'mysql'], { encoding: 'utf8' });
  if (id.status !== 0 || group.status !== 0) throw new Error('mariadbd does not run as root, and there is no mysql user to run it as.');
  return { uid: Number(id.stdout.trim()), gid: Number(group.stdout.trim()) };
}

/**
 * Starts a private MariaDB with `options` added to mariadbd's command line (e.g.
 * `['--local-infile=0']`), waits until it answers, and creates the `test` database.
 */
export async function startLocalMariaDb(options: readonly string[] = []): Promise<LocalMariaDb> {
  const server = firstOf(SERVER);
  const install = firstOf(INSTALL);
  const client = firstOf(CLIENT);
  if (!server || !install || !client) throw new Error(localMariaDbSkip() || 'no MariaDB binaries');
  const dir = mkdtempSync(join(tmpdir(), 'rxpg-mariadb-'));
  const owner = runAs();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const user = owner ? ['--user=mysql'] : [];
  const dataDir = join(dir, 'data');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  // A root without a password (not unix_socket only), so that TCP clients log in as the shared server's.
  const installed = spawnSync(install, ['--no-defaults', `--datadir=${dataDir}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' });
  if (installed.status !== 0) {
    remove();
    throw new Error(`mariadb-install-db failed (${installed.status}): ${installed.stderr}${installed.stdout}`);
  }
  const port = await freePort();
  const errorLog = join(dir, 'error.log');
  const child: ChildProcess = spawn(
    server,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      ...user,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'mariadbd.sock')}`,
      `--pid-file=${join(dir, 'mariadbd.pid')}`,
      `--log-error=${errorLog}`,
      '--skip-log-bin',
      // Small: the tests load a few rows.
      '--innodb-buffer-pool-size=16M',
      '--innodb-log-file-size=16M',
      ...options,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killed);
    }
    remove();
  };
  const log = (): string => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8').trim().split('\n').slice(-5).join('\n') : '');
  const deadline = Date.now() + 30_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = log();
      await stop();
      throw new Error(`mariadbd did not start on 127.0.0.1:${port}: ${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const created = spawnSync(client, ['-uroot', '-h127.0.0.1', `-P${port}`, '-e', 'CREATE DATABASE test'], { encoding: 'utf8' });
  if (created.status !== 0) {
    await stop();
    throw new Error(`could not create the test database on the private MariaDB: ${created.stderr}`);
  }
  return { url: `mysql://root@127.0.0.1:${port}/test`, port, stop };
}
