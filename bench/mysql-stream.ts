// `npm run bench:mysql`: 1M rows of (bigint, text, double, datetime) from MariaDB through
// MyManager's stream(), mysql2's own query stream (text protocol), its execute stream (binary
// protocol, as MyManager's stream() uses) and its buffered query, each in a process of its own,
// rounds interleaved, medians.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import mysql from 'mysql2/promise';
import { findMysql } from '../scripts/test-database.js';

// Without `--rounds` indexOf gives -1, and argv[0] (node's path) is no count: 3 rounds then.
const roundsArgument = process.argv.indexOf('--rounds');
const ROUNDS = roundsArgument >= 0 ? Number(process.argv[roundsArgument + 1]) : 3;
if (!(ROUNDS >= 1)) throw new Error(`--rounds takes a count of at least 1, not ${process.argv[roundsArgument + 1]}`);
const ROWS = 1_000_000;
const url = await findMysql();
if (!url) {
  console.log('No MySQL/MariaDB server (MYSQL_URL or 127.0.0.1:3306): nothing to measure.');
  process.exit(0);
}
const table = `rxpg_bench_mysql_${ROWS}`;
const admin = await mysql.createConnection({ uri: url });
const [existing] = await admin.query('SHOW TABLES LIKE ?', [table]);
if ((existing as unknown[]).length === 0) {
  console.log(`Creating ${table}…`);
  await admin.query(
    `CREATE TABLE ${table} AS SELECT seq AS id, CONCAT('label ', seq) AS label, seq / 7.0E0 AS score,
       TIMESTAMP '2025-01-01 00:00:00' + INTERVAL seq SECOND AS created_at FROM seq_1_to_${ROWS}`,
  );
}
const [[{ version }]] = (await admin.query('SELECT VERSION() AS version')) as unknown as [[{ version: string }]];
await admin.end();

const ALL_PEERS = ['rxpg MyManager', 'mysql2 stream', 'mysql2 execute stream', 'mysql2 buffered'];
// `--peers 'rxpg MyManager,mysql2 execute stream'` runs only those (the ratio column needs mysql2 stream).
const peersArgument = process.argv.indexOf('--peers');
const PEERS = peersArgument < 0 ? ALL_PEERS : (process.argv[peersArgument + 1] ?? '').split(',').filter((peer) => ALL_PEERS.includes(peer));
if (PEERS.length === 0) throw new Error(`--peers takes a comma-separated list of: ${ALL_PEERS.join(', ')}`);
const results = new Map<string, { millis: number; cpuMillis: number; maxRssMB: number; rssGrowthMB: number; checksum: number }[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const peer of PEERS) {
    const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/mysql-stream-peer.ts', peer, url, table], { encoding: 'utf8' });
    const result = JSON.parse(output.trim().split('\n').at(-1) as string);
    if (result.rows !== ROWS) throw new Error(`${peer} read ${result.rows} rows`);
    results.set(peer, [...(results.get(peer) ?? []), result]);
  }
  console.log(`round ${round + 1}/${ROUNDS} done`);
}
if (new Set([...results.values()].flat().map((result) => result.checksum)).size !== 1) throw new Error('readers disagree on the data');
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rate = (peer: string): number => ROWS / (median((results.get(peer) ?? []).map((r) => r.millis)) / 1000);
console.log(`\n${ROWS.toLocaleString('en')} rows from ${version}, median of ${ROUNDS} interleaved rounds; Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
const base = PEERS.includes('mysql2 stream') ? 'mysql2 stream' : PEERS[PEERS.length - 1];
console.log(`| reader | rows/s | vs ${base} | CPU per 1M rows | peak RSS | RSS growth |`);
console.log('|---|---|---|---|---|---|');
for (const peer of PEERS) {
  const runs = results.get(peer) ?? [];
  console.log(`| ${peer} | ${(rate(peer) / 1e6).toFixed(2)}M | ${(rate(peer) / rate(base)).toFixed(2)}x | ${((median(runs.map((r) => r.cpuMillis)) * 1e6) / ROWS).toFixed(0)} ms | ${Math.max(...runs.map((r) => r.maxRssMB)).toFixed(0)} MB | ${Math.max(...runs.map((r) => r.rssGrowthMB)).toFixed(0)} MB |`);
}
if (PEERS.includes('rxpg MyManager') && PEERS.includes('mysql2 execute stream')) {
  // Round by round, since the machine's load moves between rounds more than within one.
  const ours = results.get('rxpg MyManager') ?? [];
  const theirs = results.get('mysql2 execute stream') ?? [];
  const ratios = ours.map((run, round) => (theirs[round]?.millis ?? Number.NaN) / run.millis);
  const cpuRatios = ours.map((run, round) => (theirs[round]?.cpuMillis ?? Number.NaN) / run.cpuMillis);
  const list = (values: number[]): string => `${values.map((ratio) => `${ratio.toFixed(2)}x`).join(' ')}; median ${median(values).toFixed(2)}x`;
  console.log(`\nrxpg MyManager vs mysql2 execute stream, speed per round: ${list(ratios)}`);
  console.log(`rxpg MyManager vs mysql2 execute stream, CPU per round (theirs / ours): ${list(cpuRatios)}`);
}
