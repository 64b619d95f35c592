import { it, type TestContext } from 'node:test';
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
  /** The server's own name for itself, e.g. `PostgreSQL 15.…`, `10.11.…-MariaDB`, `8.0.…`. */
  readonly version: string;
  /** A manager whose `default` config points at the test server, recording its sessions' ids. */
  manager(options?: { poolSize?: number; statementTimeout?: number; isolationLevel?: 'autocommit' | 'read_committed' | 'repeatable_read' | 'serializable' }): {
    db: DbManager;
    processIds: Set<number>;
  };
  /** `$n` or `?`. */
  param(n: number): string;
  /** An expression that sleeps for `seconds`. */
  sleep(seconds: number): string;
  /** A statement that returns `count` rows with a column `n` = 1 … count, in that order. */
  series(count: number): string;
  /** A statement whose one row's column `level` is the session's isolation level, as the server spells it. */
  readonly isolation: string;
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
  const version = String((await query('SELECT version() AS v'))[0].v);
  return {
    name: 'postgres',
    version,
    manager: (options = {}) => {
      const db = new PgManager();
      db.createConn({ connectionString: DATABASE_URL, ...options });
      return { db, processIds: recordSessions(db) };
    },
    param: (n) => `$${n}`,
    sleep: (seconds) => `pg_sleep(${seconds})`,
    series: (count) => `SELECT n FROM generate_series(1, ${count}) AS n`,
    isolation: "SELECT current_setting('transaction_isolation') AS level",
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
  const version = String((await query('SELECT VERSION() AS v'))[0].v);
  const mariadb = /mariadb/i.test(version);
  return {
    name: 'mysql',
    version,
    manager: (options = {}) => {
      const db = new MyManager();
      db.createConn({ connectionString: url, ...options });
      return { db, processIds: recordSessions(db) };
    },
    param: () => '?',
    sleep: (seconds) => `SLEEP(${seconds})`,
    // MariaDB's SEQUENCE engine streams; MySQL has none, so a recursive CTE, whose depth limit
    // (cte_max_recursion_depth, 1000 by default) the SET_VAR hint lifts for this statement alone.
    series: (count) =>
      mariadb
        ? `SELECT seq AS n FROM seq_1_to_${count}`
        : `WITH RECURSIVE series (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < ${count}) SELECT /*+ SET_VAR(cte_max_recursion_depth = ${count}) */ n FROM series`,
    // MariaDB 10.x knows only tx_isolation; MySQL 8 only transaction_isolation (tx_isolation was removed in 8.0).
    isolation: mariadb ? 'SELECT @@tx_isolation AS level' : 'SELECT @@transaction_isolation AS level',
    admin: query,
    // 'Execute' too: statements with parameters and streams go by the binary protocol (prepared).
    running: async (ids) =>
      (await query(`SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE ID IN (${inList(ids)}) AND COMMAND IN ('Query', 'Execute')`)).map((row) => ({
        id: Number(row.ID),
        sql: String(row.INFO),
      })),
    alive: async (ids) => (await query(`SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (${inList(ids)})`)).map((row) => Number(row.ID)),
    end: () => admin.end(),
  };
}

/** Every backend of the shared suites. Loop over these and pass {@link backendSkip} to the describe. */
export const BACKEND_NAMES: readonly ('postgres' | 'mysql')[] = ['postgres', 'mysql'];

/**
 * Why a backend's half of a shared suite cannot run here, or false when it runs. Postgres always
 * runs (scripts/run-tests.ts finds or starts one); MySQL needs MYSQL_URL, which `npm test` sets
 * when a server answers at 127.0.0.1:3306.
 */
export function backendSkip(name: 'postgres' | 'mysql'): string | false {
  return name === 'mysql' && !process.env.MYSQL_URL ? 'no MySQL/MariaDB server: MYSQL_URL is unset or empty (npm test sets it when 127.0.0.1:3306 answers)' : false;
}

/**
 * node:test's `it` for one backend's half of a shared suite: each test carries
 * `{ skip: backendSkip(name) }`, so without a server the reporter lists every one of them as
 * skipped with the reason and counts them in its summary (Node 20 prints a skipped describe but
 * leaves it out of the count). Register the suite's hooks only when `backendSkip(name)` is false.
 */
export function backendIt(name: 'postgres' | 'mysql'): (title: string, fn: (t: TestContext) => Promise<void>) => void {
  const skip = backendSkip(name);
  return (title, fn) => {
    it(title, { skip }, fn);
  };
}

export function openBackend(name: 'postgres' | 'mysql'): Promise<Backend> {
  return name === 'postgres' ? postgresBackend() : mysqlBackend(process.env.MYSQL_URL as string);
}
