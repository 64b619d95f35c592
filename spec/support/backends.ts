import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DbEvent, DbManager } from '../../src/index.js';
import { PgManager } from '../../src/index.js';
import { MyManager } from '../../src/mysql.js';
import { DATABASE_URL } from './database.js';

/** A statement the server is running for one of our sessions. */
export interface ServerStatement {
  readonly id: number;
  readonly sql: string;
}

/**
 * One backend of the shared behaviour suite: how to make a manager, how to write the few SQL
 * bits that differ, and how to look at the server from outside.
 */
export interface Backend {
  readonly name: 'postgres' | 'mysql';
  /** A manager whose `default` config points at the test server, recording its sessions' ids. */
  manager(options?: { poolSize?: number; statementTimeout?: number; isolationLevel?: 'autocommit' | 'read_committed' | 'repeatable_read' | 'serializable' }): {
    db: DbManager;
    processIds: Set<number>;
  };
  /** `$n` or `?`. */
  param(n: number): string;
  /** An expression that sleeps for `seconds`. */
  sleep(seconds: number): string;
  /** A statement that returns `count` rows with a column `n` = 1 … count. */
  series(count: number): string;
  /** Runs SQL as the admin (outside rxpg). */
  admin(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Statements the server is running for the given sessions (none when all are idle). */
  running(ids: Iterable<number>): Promise<ServerStatement[]>;
  /** Which of the given sessions still exist on the server. */
  alive(ids: Iterable<number>): Promise<number[]>;
  end(): Promise<void>;
}

function recordSessions(db: DbManager): Set<number> {
  const ids = new Set<number>();
  db.events$.subscribe((event: DbEvent) => {
    if (event.type === 'connect') ids.add(event.processId);
  });
  return ids;
}

async function postgresBackend(): Promise<Backend> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  admin.on('error', () => {});
  await admin.connect();
  const query = async (sql: string, params: unknown[] = []) => (await admin.query(sql, params)).rows as Record<string, unknown>[];
  return {
    name: 'postgres',
    manager: (options = {}) => {
      const db = new PgManager();
      db.createConn({ connectionString: DATABASE_URL, ...options });
      return { db, processIds: recordSessions(db) };
    },
    param: (n) => `$${n}`,
    sleep: (seconds) => `pg_sleep(${seconds})`,
    series: (count) => `SELECT n FROM generate_series(1, ${count}) AS n`,
    admin: query,
    running: async (ids) =>
      (await query("SELECT pid, query FROM pg_stat_activity WHERE pid = ANY($1) AND state <> 'idle'", [[...ids]])).map((row) => ({
        id: Number(row.pid),
        sql: String(row.query),
      })),
    alive: async (ids) => (await query('SELECT pid FROM pg_stat_activity WHERE pid = ANY($1)', [[...ids]])).map((row) => Number(row.pid)),
    end: () => admin.end(),
  };
}

async function mysqlBackend(url: string): Promise<Backend> {
  const admin = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true });
  const query = async (sql: string, params: unknown[] = []) => (await admin.query(sql, params))[0] as Record<string, unknown>[];
  const inList = (ids: Iterable<number>): string => [...ids, 0].map(Number).join(', ');
  return {
    name: 'mysql',
    manager: (options = {}) => {
      const db = new MyManager();
      db.createConn({ connectionString: url, ...options });
      return { db, processIds: recordSessions(db) };
    },
    param: () => '?',
    sleep: (seconds) => `SLEEP(${seconds})`,
    series: (count) => `SELECT seq AS n FROM seq_1_to_${count}`,
    admin: query,
    running: async (ids) =>
      (await query(`SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE ID IN (${inList(ids)}) AND COMMAND = 'Query'`)).map((row) => ({
        id: Number(row.ID),
        sql: String(row.INFO),
      })),
    alive: async (ids) => (await query(`SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (${inList(ids)})`)).map((row) => Number(row.ID)),
    end: () => admin.end(),
  };
}

/** Every backend a server is available for: Postgres always, MySQL when MYSQL_URL is set. */
export const BACKEND_NAMES: readonly ('postgres' | 'mysql')[] = process.env.MYSQL_URL ? ['postgres', 'mysql'] : ['postgres'];

export function openBackend(name: 'postgres' | 'mysql'): Promise<Backend> {
  return name === 'postgres' ? postgresBackend() : mysqlBackend(process.env.MYSQL_URL as string);
}
