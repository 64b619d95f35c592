// `npm run bench:mysql-copy`: loading 1M generated rows of (int, text, double, datetime(3)) into
// an empty MariaDB table with MyManager's copyFrom() (LOAD DATA LOCAL INFILE fed from the
// generator), mysql2's own LOAD DATA LOCAL INFILE fed from a stream of the same rows, 1,000-row
// INSERTs through MyManager's command(), and the command-line client's LOAD DATA LOCAL INFILE
// from a file of those rows (written once, untimed). Each Node loader runs in a process of its
// own; rounds interleaved, medians; every load's contents checked against the first.
// `--rows N` (default 1000000), `--rounds N` (default 3).
import { spawnSync, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findMysql } from '../scripts/test-database.js';
import { copyRows } from './copy-rows.js';
import { encodeLoadDataLines } from './mysql-copy-rows.js';

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const ROWS = argument('rows', 1_000_000);
const ROUNDS = argument('rounds', 3);
const url = await findMysql();
if (!url) {
  console.log('No MySQL/MariaDB server (MYSQL_URL or 127.0.0.1:3306): the MariaDB copyFrom bench was skipped.');
  process.exit(0);
}
const cli = ['/usr/bin/mariadb', '/usr/bin/mysql', '/usr/local/bin/mariadb', '/usr/local/bin/mysql'].find((path) => existsSync(path));
const table = `rxpg_bench_load_${process.pid}`;
const admin = await mysql.createConnection({ uri: url });
const [[{ version, localInfile }]] = (await admin.query('SELECT VERSION() AS version, @@GLOBAL.local_infile AS localInfile')) as unknown as [[{ version: string; localInfile: number | string }]];
if (Number(localInfile) !== 1) {
  console.log(`The server at ${url} has local_infile off (SET GLOBAL local_infile = ON to allow it): the MariaDB copyFrom bench was skipped.`);
  await admin.end();
  process.exit(0);
}
await admin.query(`DROP TABLE IF EXISTS ${table}`);
await admin.query(`CREATE TABLE ${table} (id INT, label TEXT, score DOUBLE, created_at DATETIME(3)) ENGINE=InnoDB`);

// The command-line client loads a file: the same rows, encoded once, untimed.
const folder = mkdtempSync(join(tmpdir(), 'rxpg-bench-load-'));
const file = join(folder, 'rows.tsv');
const out = createWriteStream(file);
for (const text of encodeLoadDataLines(copyRows(ROWS))) if (!out.write(text)) await once(out, 'drain');
out.end();
await once(out, 'finish');

interface Result {
  peer: string;
  rows: number;
  millis: number;
  rssGrowthMB: number;
}
const runPeer = (peer: string): Result =>
  JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'bench/mysql-copy-peer.ts', peer, url, table, String(ROWS)], { encoding: 'utf8' }).trim().split('\n').at(-1) as string) as Result;
const target = new URL(url);
function runCli(): Result {
  const args = [
    '--local-infile=1',
    `-h${target.hostname}`,
    `-P${target.port || 3306}`,
    `-u${decodeURIComponent(target.username || 'root')}`,
    ...(target.password ? [`-p${decodeURIComponent(target.password)}`] : []),
    decodeURIComponent(target.pathname.slice(1)),
    '-e',
    `LOAD DATA LOCAL INFILE '${file}' INTO TABLE ${table} (id, label, score, created_at)`,
  ];
  const started = performance.now();
  const result = spawnSync(cli as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`${cli} failed: ${result.stderr}`);
  return { peer: `${cli?.split('/').at(-1)} LOAD DATA (file)`, rows: ROWS, millis: performance.now() - started, rssGrowthMB: NaN };
}
/** What a load left in the table: the same for every loader, or one of them loaded something else. */
const contents = async (): Promise<string> => {
  const [[row]] = (await admin.query(
    `SELECT COUNT(*) AS n, SUM(id) AS ids, SUM(CHAR_LENGTH(label)) AS labels, ROUND(SUM(score), 3) AS scores, MIN(created_at) AS first, MAX(created_at) AS last FROM ${table}`,
  )) as unknown as [[Record<string, unknown>]];
  return JSON.stringify(row);
};

const PEERS = ['rxpg copyFrom', 'mysql2 LOAD DATA', 'rxpg INSERTs', ...(cli ? ['cli'] : [])];
const results = new Map<string, Result[]>();
let expected: string | undefined;
for (let round = 0; round < ROUNDS; round++) {
  for (const peer of PEERS) {
    await admin.query(`TRUNCATE TABLE ${table}`);
    const result = peer === 'cli' ? runCli() : runPeer(peer);
    const loaded = await contents();
    expected ??= loaded;
    if (loaded !== expected) throw new Error(`${result.peer} loaded ${loaded}, the first load ${expected}`);
    if (JSON.parse(loaded).n !== ROWS) throw new Error(`${result.peer} loaded ${loaded}, expected ${ROWS} rows`);
    if (result.rows !== ROWS) throw new Error(`${result.peer} reported ${result.rows} rows, expected ${ROWS}`);
    results.set(result.peer, [...(results.get(result.peer) ?? []), result]);
  }
  console.log(`round ${round + 1}/${ROUNDS} done`);
}
await admin.query(`DROP TABLE ${table}`);
await admin.end();
rmSync(folder, { recursive: true, force: true });

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rate = (peer: string): number => ROWS / (median((results.get(peer) ?? []).map((run) => run.millis)) / 1000);
const cliPeer = [...results.keys()].find((peer) => peer.endsWith('(file)'));
const against = [...(cliPeer ? [cliPeer] : []), 'mysql2 LOAD DATA', 'rxpg INSERTs'];
console.log(`\nNode ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}${cli ? '' : '; no mariadb/mysql command-line client here'}`);
console.log(`\n### ${ROWS.toLocaleString('en')} rows of (int, text, double, datetime(3)) into an empty InnoDB table, MariaDB ${version.replace(/-MariaDB.*$/, '')} (median of ${ROUNDS})\n`);
console.log(`| loader | rows/s | ${against.map((peer) => `vs ${peer}`).join(' | ')} | RSS growth |`);
console.log(`|---|---|${against.map(() => '---|').join('')}---|`);
for (const [peer, runs] of results) {
  const growth = Math.max(...runs.map((run) => run.rssGrowthMB));
  console.log(`| ${peer} | ${(rate(peer) / 1e6).toFixed(2)}M | ${against.map((other) => `${(rate(peer) / rate(other)).toFixed(2)}x`).join(' | ')} | ${Number.isNaN(growth) ? '–' : `${growth.toFixed(0)} MB`} |`);
}
