// `npm run bench:tpcb`: TPC-B (pgbench's tpcb-like transaction, scale 1) through rxpg's
// transaction() and batch() (the whole transaction in one round trip), pg.Pool and postgres.js,
// against pgbench -M prepared and pgbench in pipeline mode, on loopback and through a proxy that
// holds every chunk 1 ms each way. Each run is a process of its own, rounds interleaved, medians.
// Prints markdown. `--seconds N` per run, `--rounds N`, `--clients a,b` (names as in the tables).
//
// On loopback the server's CPU bounds every client, and a transaction that waits for each
// statement costs little. Through the proxy each round trip costs 2 ms, and at scale 1 every
// transaction updates the one pgbench_branches row: a client that waits for each statement holds
// that row's lock over the INSERT's and the COMMIT's round trips, and the lock, not the CPU,
// bounds everyone's throughput.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findOrStartDatabase } from '../scripts/test-database.js';
import { LatencyProxy } from './latency-proxy.js';
import { serverCpuSeconds } from './server-cpu.js';

const run = promisify(execFile);
const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const SECONDS = argument('seconds', 5);
const ROUNDS = argument('rounds', 3);
const DELAY_MILLIS = 1;
// The concurrency of the point-query bench's TPC-B since it began: 16 callers on a pool of 8
// sessions; pgbench runs 8 clients (sessions) on 2 threads.
const PIPELINES = 16;
const POOL_SIZE = 8;
const PGBENCH = 'pgbench -M prepared';
const PGBENCH_PIPELINE = 'pgbench -M prepared pipeline';
const NODE_CLIENTS = ['rxpg transaction()', 'rxpg batch()', 'pg.Pool', 'postgres.js begin()', 'postgres.js begin() pipelined'];
const ALL = [...NODE_CLIENTS, PGBENCH, PGBENCH_PIPELINE];
const clientsArgument = process.argv.indexOf('--clients');
const CLIENTS = clientsArgument >= 0 ? process.argv[clientsArgument + 1].split(',') : ALL;

const database = await findOrStartDatabase((line) => process.stderr.write(`${line}\n`));
// pgbench's own tables, made afresh on every run so that runs start from the same table sizes.
await run('pgbench', ['-i', '-s', '1', '-q', database.url]);

// The built-in tpcb-like script, inside one pipeline: BEGIN, the five statements and END leave
// with one Sync (pipeline mode needs the extended protocol: -M prepared or extended).
const pipelineScript = join(tmpdir(), `rxpg-bench-tpcb-pipeline-${process.pid}.sql`);
writeFileSync(
  pipelineScript,
  `\\set aid random(1, 100000)
\\set bid random(1, 1)
\\set tid random(1, 10)
\\set delta random(-5000, 5000)
\\startpipeline
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
\\endpipeline
`,
);

const target = new URL(database.url);
const proxy = await LatencyProxy.start({ host: target.hostname, port: Number(target.port || 5432) }, DELAY_MILLIS);
const throughProxy = new URL(database.url);
throughProxy.hostname = '127.0.0.1';
throughProxy.port = String(proxy.port);

interface Result {
  tps: number;
  committed: number;
  clientCpuMicros: number;
  serverCpuMicros: number;
}

/** One Node client for SECONDS in a process of its own (bench/tpcb-client.ts). */
async function nodeClient(client: string, url: string): Promise<Result> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/tpcb-client.ts', client, url, String(SECONDS), String(PIPELINES), String(POOL_SIZE)], {
    encoding: 'utf8',
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Result;
}

/** pgbench for SECONDS, plain text as the Node clients (the server's answer to an SSL request would be a round trip more). */
async function pgbench(client: string, url: string): Promise<Result> {
  const plain = new URL(url);
  plain.searchParams.set('sslmode', 'disable');
  const script = client === PGBENCH_PIPELINE ? ['-f', pipelineScript] : ['-b', 'tpcb-like'];
  const serverBefore = serverCpuSeconds();
  // The shell's `times` prints its children's user and system CPU after pgbench has run.
  const { stdout } = await run('sh', ['-c', 'pgbench "$@"; times', 'sh', '-M', 'prepared', '-c', String(POOL_SIZE), '-j', '2', ...script, '-T', String(SECONDS), '-n', plain.href], {
    encoding: 'utf8',
  });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const committed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1] ?? NaN);
  const times = [...stdout.matchAll(/(\d+)m([\d.]+)s/g)].map((time) => Number(time[1]) * 60 + Number(time[2]));
  const [childUser, childSystem] = times.slice(-2);
  return {
    tps,
    committed,
    clientCpuMicros: times.length >= 4 ? ((childUser + childSystem) * 1e6) / committed : NaN,
    serverCpuMicros: ((serverCpuSeconds() - serverBefore) * 1e6) / committed,
  };
}

interface Sample extends Result {
  roundTrips: number;
  syncs: number;
  heldMillis: number;
}
const samples = new Map<string, Sample[]>();
const missing = new Map<string, string>();
const key = (network: string, client: string) => `${network}\t${client}`;
for (let round = 0; round < ROUNDS; round++) {
  for (const network of ['loopback', 'proxy'] as const) {
    for (const client of CLIENTS) {
      if (missing.has(client)) continue;
      const url = network === 'proxy' ? throughProxy.href : database.url;
      proxy.sample();
      let result: Result;
      try {
        result = client.startsWith('pgbench') ? await pgbench(client, url) : await nodeClient(client, url);
      } catch (error) {
        // A client this build cannot run (batch() before it exists) is reported, not fatal.
        const output = String((error as { stderr?: string }).stderr ?? error);
        missing.set(client, /^\w*Error: .*$/m.exec(output)?.[0] ?? output.trim().split('\n')[0]);
        continue;
      }
      const through = proxy.sample();
      const sample = {
        ...result,
        roundTrips: through.roundTrips / result.committed,
        syncs: through.readyForQuery / result.committed,
        heldMillis: through.medianHeldMillis,
      };
      samples.set(key(network, client), [...(samples.get(key(network, client)) ?? []), sample]);
    }
  }
  process.stderr.write(`tpcb round ${round + 1}/${ROUNDS} done\n`);
}
await proxy.stop();

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const medianOf = (network: string, client: string, field: keyof Sample): number => median((samples.get(key(network, client)) ?? []).map((sample) => sample[field]));
const ratio = (value: number, base: number): string => (Number.isFinite(value / base) ? `${(value / base).toFixed(2)}x` : '–');
const micros = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)} µs` : 'n/a');

console.log(`\n### TPC-B on loopback: ${PIPELINES} callers (pgbench: ${POOL_SIZE} clients), pool of ${POOL_SIZE}, ${SECONDS} s per run, ${cpus().length} cores shared\n`);
console.log(`| client | transactions/s | vs ${PGBENCH} | vs ${PGBENCH_PIPELINE} | client CPU per transaction | server CPU per transaction |`);
console.log('|---|---|---|---|---|---|');
for (const client of CLIENTS.filter((name) => samples.has(key('loopback', name)))) {
  const tps = medianOf('loopback', client, 'tps');
  console.log(
    `| ${client} | ${Math.round(tps).toLocaleString('en')} | ${ratio(tps, medianOf('loopback', PGBENCH, 'tps'))} | ${ratio(tps, medianOf('loopback', PGBENCH_PIPELINE, 'tps'))} | ${micros(medianOf('loopback', client, 'clientCpuMicros'))} | ${micros(medianOf('loopback', client, 'serverCpuMicros'))} |`,
  );
}
const held = median([...samples.entries()].filter(([name]) => name.startsWith('proxy\t')).flatMap(([, runs]) => runs.map((sample) => sample.heldMillis)));
console.log(`\n### TPC-B through a proxy holding every chunk ${DELAY_MILLIS} ms each way (measured: ${held.toFixed(2)} ms), same clients\n`);
// Counted on the proxy: a round trip is the client sending after an answer reached it, a Sync
// (or simple Query) is one ReadyForQuery from the server. Both include the sessions' start-up.
console.log(`| client | transactions/s | vs ${PGBENCH} | vs ${PGBENCH_PIPELINE} | round trips per transaction | Syncs per transaction |`);
console.log('|---|---|---|---|---|---|');
for (const client of CLIENTS.filter((name) => samples.has(key('proxy', name)))) {
  const tps = medianOf('proxy', client, 'tps');
  console.log(
    `| ${client} | ${Math.round(tps).toLocaleString('en')} | ${ratio(tps, medianOf('proxy', PGBENCH, 'tps'))} | ${ratio(tps, medianOf('proxy', PGBENCH_PIPELINE, 'tps'))} | ${medianOf('proxy', client, 'roundTrips').toFixed(1)} | ${medianOf('proxy', client, 'syncs').toFixed(1)} |`,
  );
}
for (const [client, reason] of missing) console.log(`\n${client} did not run: ${reason}`);
await database.stop();
