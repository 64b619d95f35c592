// `npm run bench:copy`: COPY with every client, each run in a process of its own, rounds
// interleaved so noise hits all alike; median rows/s and RSS growth.
// - copyTo: COPY <table> TO STDOUT of (int, text, float8, timestamptz) into a sink that counts
//   bytes, with rxpg's copyTo(), pg-copy-streams, postgres.js .readable(), and psql into /dev/null.
// - copyFrom: the same generated rows (bench/copy-rows.ts) into an empty table with rxpg's
//   copyFrom() (its own encoder, text; rxpg-binary: COPY's binary format with `types`),
//   pg-copy-streams and postgres.js .writable() (one shared text encoder), psql's \copy from a
//   file of those rows, and 1,000-row INSERTs through rxpg's query().
// `--rows N` (default 1000000; the issue's goal is 5000000), `--rounds N` (default 3),
// `--peers a,b`, `--skip-inserts`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findOrStartDatabase } from '../scripts/test-database.js';
import { copyRows, encodeLines } from './copy-rows.js';

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const ROWS = argument('rows', 1_000_000);
const ROUNDS = argument('rounds', 3);
const peersArgument = process.argv.indexOf('--peers');
const PEERS = peersArgument >= 0 ? process.argv[peersArgument + 1].split(',') : ['rxpg', 'rxpg-binary', 'pg-copy-streams', 'postgres.js'];
/** Peers that only load (rxpg-binary is copyFrom's binary format; copyTo reads whatever the statement asks for). */
const FROM_ONLY = new Set(['rxpg-binary']);
const TO_PEERS = PEERS.filter((peer) => !FROM_ONLY.has(peer));
const INSERTS = !process.argv.includes('--skip-inserts');

const database = await findOrStartDatabase((line) => console.log(line));
const source = `rxpg_bench_copy_${ROWS}`;
const target = `rxpg_bench_copy_target_${process.pid}`;
const admin = new pg.Client({ connectionString: database.url });
await admin.connect();
if ((await admin.query('SELECT 1 FROM pg_tables WHERE tablename = $1', [source])).rowCount === 0) {
  console.log(`Creating ${source} (${ROWS} rows)…`);
  await admin.query(
    `CREATE TABLE ${source} AS SELECT n AS id, 'label ' || n AS label, n / 7.0::float8 AS score,
       timestamptz '2025-01-01' + n * interval '1 second' AS created_at FROM generate_series(1, ${ROWS}) AS n`,
  );
  await admin.query(`VACUUM ANALYZE ${source}`);
}
await admin.query(`DROP TABLE IF EXISTS ${target}; CREATE TABLE ${target} (id int, label text, score float8, created_at timestamptz)`);
const serverVersion = (await admin.query('SHOW server_version')).rows[0].server_version as string;

// psql's \copy reads a file: the same rows, encoded once, untimed.
const folder = mkdtempSync(join(tmpdir(), 'rxpg-bench-copy-'));
const file = join(folder, 'rows.tsv');
const out = createWriteStream(file);
for (const text of encodeLines(copyRows(ROWS))) if (!out.write(text)) await once(out, 'drain');
out.end();
await once(out, 'finish');

interface Result {
  peer: string;
  rows: number;
  bytes: number;
  millis: number;
  /** The client process's CPU time (user + system) for the whole run, connect included. */
  cpuMillis: number;
  rssGrowthMB: number;
}
function runPeer(peer: string, direction: 'to' | 'from'): Result {
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/copy-peer.ts', peer, direction, database.url, direction === 'to' ? source : target, String(ROWS)], {
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').at(-1) as string) as Result;
}
function psql(args: string[]): number {
  const started = performance.now();
  const result = spawnSync('psql', [database.url, '-qAt', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return performance.now() - started;
}
const truncate = (): Promise<unknown> => admin.query(`TRUNCATE ${target}`);

const to = new Map<string, Result[]>();
const from = new Map<string, Result[]>();
const add = (map: Map<string, Result[]>, result: Result): void => void map.set(result.peer, [...(map.get(result.peer) ?? []), result]);
for (let round = 0; round < ROUNDS; round++) {
  for (const peer of TO_PEERS) {
    const result = runPeer(peer, 'to');
    if (peer !== 'rxpg' && to.get('rxpg')?.[0] && result.bytes !== to.get('rxpg')?.[0].bytes) throw new Error(`${peer} read ${result.bytes} bytes, rxpg ${to.get('rxpg')?.[0].bytes}`);
    add(to, result);
  }
  add(to, { peer: 'psql', rows: ROWS, bytes: 0, millis: psql(['-c', `COPY ${source} TO STDOUT`]), cpuMillis: NaN, rssGrowthMB: NaN });
  for (const peer of [...PEERS, ...(INSERTS ? ['rxpg-inserts'] : [])]) {
    await truncate();
    const result = runPeer(peer, 'from');
    const loaded = Number((await admin.query(`SELECT count(*) AS n FROM ${target}`)).rows[0].n);
    if (loaded !== ROWS) throw new Error(`${peer} loaded ${loaded} rows, expected ${ROWS}`);
    // The rows read back as generated (bench/copy-rows.ts), whatever the format they went in.
    const wrong = Number(
      (
        await admin.query(
          `SELECT count(*) AS n FROM ${target} WHERE label IS DISTINCT FROM 'label ' || id OR score IS DISTINCT FROM id / 7.0::float8 ` +
            `OR created_at IS DISTINCT FROM timestamptz '2025-01-01 00:00:00+00' + id * interval '1 second'`,
        )
      ).rows[0].n,
    );
    if (wrong !== 0) throw new Error(`${peer} loaded ${wrong} rows that differ from the generated ones`);
    add(from, { ...result, rows: loaded });
  }
  await truncate();
  add(from, { peer: 'psql', rows: ROWS, bytes: 0, millis: psql(['-c', `\\copy ${target} (id, label, score, created_at) FROM '${file}'`]), cpuMillis: NaN, rssGrowthMB: NaN });
  console.log(`round ${round + 1}/${ROUNDS} done`);
}
await admin.query(`DROP TABLE ${target}`);
await admin.end();
rmSync(folder, { recursive: true, force: true });

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rate = (runs: Result[]): number => ROWS / (median(runs.map((run) => run.millis)) / 1000);
const table = (title: string, map: Map<string, Result[]>, against: string[]): void => {
  console.log(`\n### ${title}\n`);
  console.log(`| client | rows/s | ${against.map((peer) => `vs ${peer}`).join(' | ')} | RSS growth | client CPU |`);
  console.log(`|---|---|${against.map(() => '---|').join('')}---|---|`);
  for (const [peer, runs] of map) {
    const ratios = against.map((other) => (map.has(other) ? `${(rate(runs) / rate(map.get(other) as Result[])).toFixed(2)}x` : '–'));
    const growth = Math.max(...runs.map((run) => run.rssGrowthMB));
    const cpu = median(runs.map((run) => run.cpuMillis));
    console.log(
      `| ${peer} | ${(rate(runs) / 1e6).toFixed(2)}M | ${ratios.join(' | ')} | ${Number.isNaN(growth) ? '–' : `${growth.toFixed(0)} MB`} | ${Number.isNaN(cpu) ? '–' : `${Math.round(cpu).toLocaleString('en')} ms`} |`,
    );
  }
};
const rows = `${ROWS.toLocaleString('en')} rows of (int, text, float8, timestamptz)`;
console.log(`\n${rows}, median of ${ROUNDS} interleaved round${ROUNDS === 1 ? '' : 's'}`);
console.log(`PostgreSQL ${serverVersion} (${database.origin}), Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}`);
table(`copyTo: COPY of ${rows} TO STDOUT into a byte-counting sink (median of ${ROUNDS})`, to, ['psql', 'pg-copy-streams', 'postgres.js']);
table(`copyFrom: ${rows}, generated in JavaScript, into an empty table (median of ${ROUNDS})`, from, ['psql', 'pg-copy-streams', 'postgres.js', 'rxpg-inserts', 'rxpg']);
if (from.has('rxpg-inserts')) {
  // The goal is relative to psql's own speed-up: COPY over the INSERTs an application would otherwise send.
  const inserts = rate(from.get('rxpg-inserts') as Result[]);
  const psqlSpeedUp = rate(from.get('psql') as Result[]) / inserts;
  console.log(`\n### copyFrom's speed-up over 1,000-row INSERTs through query()\n`);
  console.log("| loader | over INSERTs | vs psql's speed-up |");
  console.log('|---|---|---|');
  for (const peer of ['psql', 'rxpg', 'rxpg-binary', 'pg-copy-streams', 'postgres.js']) {
    if (!from.has(peer)) continue;
    const speedUp = rate(from.get(peer) as Result[]) / inserts;
    console.log(`| ${peer} | ${speedUp.toFixed(2)}x | ${(speedUp / psqlSpeedUp).toFixed(2)}x |`);
  }
}
await database.stop();
