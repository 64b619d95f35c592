// `npm run bench:stream`: 1M rows of (int, text, float8, timestamptz) read through every peer,
// each in a process of its own, rounds interleaved so noise hits all alike; median rows/s,
// ratio to the fastest peer, peak RSS. The limit is psql's COPY … TO STDOUT into /dev/null.
// `--rows N` changes the table size (5000000 for the 5M RSS check), `--rounds N` the rounds,
// `--peers a,b` the readers (rxpg, rxpg-slow-sink, pg-query-stream, pg-cursor, postgres.js, pg-buffered).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import pg from 'pg';
import { findOrStartDatabase } from '../scripts/test-database.js';

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const ROWS = argument('rows', 1_000_000);
const ROUNDS = argument('rounds', 3);
const ALL = ['rxpg', 'rxpg-slow-sink', 'pg-query-stream', 'pg-cursor', 'postgres.js', 'pg-buffered'];
const peersArgument = process.argv.indexOf('--peers');
const PEERS = peersArgument >= 0 ? process.argv[peersArgument + 1].split(',') : ALL;

const database = await findOrStartDatabase((line) => console.log(line));
const table = `rxpg_bench_stream_${ROWS}`;
const admin = new pg.Client({ connectionString: database.url });
await admin.connect();
const exists = await admin.query('SELECT 1 FROM pg_tables WHERE tablename = $1', [table]);
if (exists.rowCount === 0) {
  console.log(`Creating ${table} (${ROWS} rows)…`);
  await admin.query(
    `CREATE TABLE ${table} AS SELECT n AS id, 'label ' || n AS label, n / 7.0::float8 AS score,
       timestamptz '2025-01-01' + n * interval '1 second' AS created_at FROM generate_series(1, ${ROWS}) AS n`,
  );
  await admin.query(`VACUUM ANALYZE ${table}`);
}
const serverVersion = (await admin.query('SHOW server_version')).rows[0].server_version as string;
await admin.end();

interface Result {
  peer: string;
  sink: string;
  rows: number;
  millis: number;
  maxRssMB: number;
  rssGrowthMB: number;
  checksum: number;
}
function run(peer: string, sink = 'sync'): Result {
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/stream-peer.ts', peer, database.url, table, sink], { encoding: 'utf8' });
  const result = JSON.parse(output.trim().split('\n').at(-1) as string) as Result;
  if (result.rows !== ROWS) throw new Error(`${peer} read ${result.rows} rows, expected ${ROWS}`);
  return result;
}
function copyMillis(): number | undefined {
  const started = performance.now();
  const copy = spawnSync('psql', [database.url, '-qAt', '-c', `COPY ${table} TO STDOUT`], { stdio: ['ignore', 'ignore', 'pipe'] });
  return copy.status === 0 ? performance.now() - started : undefined;
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const results = new Map<string, Result[]>();
const copies: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const peer of PEERS) {
    const result = peer === 'rxpg-slow-sink' ? { ...run('rxpg', 'slow'), peer } : run(peer);
    results.set(peer, [...(results.get(peer) ?? []), result]);
  }
  const copy = copyMillis();
  if (copy !== undefined) copies.push(copy);
  console.log(`round ${round + 1}/${ROUNDS} done`);
}
const checksums = new Set([...results.values()].flat().map((result) => result.checksum));
if (checksums.size !== 1) throw new Error('peers disagree on the data read');

const rate = (millis: number): number => ROWS / (millis / 1000);
const rows = [...results.entries()].map(([peer, runs]) => ({
  peer,
  rate: rate(median(runs.map((r) => r.millis))),
  rss: Math.max(...runs.map((r) => r.maxRssMB)),
  growth: Math.max(...runs.map((r) => r.rssGrowthMB)),
}));
const peerRates = rows.filter((row) => !row.peer.startsWith('rxpg')).map((row) => row.rate);
const bestPeer = peerRates.length > 0 ? Math.max(...peerRates) : NaN;
const ratio = (value: number): string => (Number.isNaN(bestPeer) ? '–' : `${(value / bestPeer).toFixed(2)}x`);
console.log(`\n${ROWS.toLocaleString('en')} rows of (int, text, float8, timestamptz), median of ${ROUNDS} interleaved rounds`);
console.log(`PostgreSQL ${serverVersion} (${database.origin}), Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| reader | rows/s | vs fastest peer | peak RSS | RSS growth |');
console.log('|---|---|---|---|---|');
for (const row of rows) {
  console.log(`| ${row.peer} | ${(row.rate / 1e6).toFixed(2)}M | ${ratio(row.rate)} | ${row.rss.toFixed(0)} MB | ${row.growth.toFixed(0)} MB |`);
}
if (copies.length > 0) console.log(`| psql COPY TO STDOUT (limit) | ${(rate(median(copies)) / 1e6).toFixed(2)}M | ${ratio(rate(median(copies)))} | – | – |`);
await database.stop();
