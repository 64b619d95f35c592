// Query workloads for `npm run bench`: point queries and the RxJS layer's overhead, against
// pg.Pool, postgres.js, pg-promise and pgbench, in one run. Prints markdown. TPC-B is bench/tpcb.ts.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import pg from 'pg';
import pgPromise from 'pg-promise';
import postgres from 'postgres';
import { firstValueFrom } from 'rxjs';
import { PgManager } from 'rxpg';
import { findOrStartDatabase } from '../scripts/test-database.js';
import { serverCpuSeconds } from './server-cpu.js';

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const SECONDS = argument('seconds', 5);
const ROUNDS = argument('rounds', 3);
// `--only point`: the point-query workloads alone (throughput and CPU per query), for a short A/B run.
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (ONLY !== undefined && ONLY !== 'point') throw new Error(`--only takes 'point', not ${JSON.stringify(ONLY)}`);
const EVERY_WORKLOAD = ONLY === undefined;
const database = await findOrStartDatabase((line) => process.stderr.write(`${line}\n`));
const url = database.url;
const ROWS = 1_000_000;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const randomId = (): number => 1 + Math.floor(Math.random() * ROWS);

async function setup(): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_tables WHERE tablename = 'rxpg_bench_point'");
  if (exists.rowCount === 0) {
    await admin.query(`CREATE TABLE rxpg_bench_point AS SELECT n AS id, md5(n::text) AS payload FROM generate_series(1, ${ROWS}) AS n`);
    await admin.query('ALTER TABLE rxpg_bench_point ADD PRIMARY KEY (id)');
    await admin.query('VACUUM ANALYZE rxpg_bench_point');
  }
  await admin.end();
}

/** Where the CPU of a point-query run went, per query: the client's and the server's. */
const cpuPerQuery = new Map<string, { client: number[]; server: number[] }>();
const recordCpu = (name: string, clientSeconds: number, serverSeconds: number, queries: number) => {
  const entry = cpuPerQuery.get(name) ?? { client: [], server: [] };
  entry.client.push((clientSeconds * 1e6) / queries);
  entry.server.push((serverSeconds * 1e6) / queries);
  cpuPerQuery.set(name, entry);
};

/** Runs `op` in `concurrency` loops for SECONDS and returns operations per second. */
async function loops(concurrency: number, op: () => Promise<unknown>, cpuName?: string): Promise<number> {
  const deadline = Date.now() + SECONDS * 1000;
  const cpuBefore = process.cpuUsage();
  const serverBefore = serverCpuSeconds();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await op();
        done++;
      }
    }),
  );
  if (cpuName) {
    const cpu = process.cpuUsage(cpuBefore);
    recordCpu(cpuName, (cpu.user + cpu.system) / 1e6, serverCpuSeconds() - serverBefore, done);
  }
  return done / SECONDS;
}

const POINT = 'SELECT id, payload FROM rxpg_bench_point WHERE id = $1';
type Peer = { point: () => Promise<unknown>; close: () => Promise<void> };

function rxpgPeer(poolSize: number, pipeline = 1): Peer {
  const pgm = new PgManager();
  // Plain text like the peers (pg's default); rxpg's own default is libpq's sslmode=prefer.
  pgm.createConn({ connectionString: url, poolSize, sslmode: 'disable', pipeline });
  return {
    point: () => firstValueFrom(pgm.query(POINT, [randomId()])),
    close: () => pgm.close(),
  };
}

function pgPoolPeer(max: number): Peer {
  const pool = new pg.Pool({ connectionString: url, max });
  return {
    point: () => pool.query(POINT, [randomId()]),
    close: () => pool.end(),
  };
}

function postgresJsPeer(max: number): Peer {
  const sql = postgres(url, { max });
  return {
    // Prepared as its tagged templates are: unsafe() alone describes each statement first, a second round trip.
    point: () => sql.unsafe(POINT, [randomId()], { prepare: true }),
    close: () => sql.end(),
  };
}

function pgPromisePeer(max: number): Peer {
  const pgp = pgPromise();
  const db = pgp({ connectionString: url, max });
  return {
    point: () => db.query(POINT, [randomId()]),
    close: async () => pgp.end(),
  };
}

function pgbench(args: string[], cpuName?: string): number {
  const serverBefore = serverCpuSeconds();
  // The shell's `times` prints its children's user and system CPU after pgbench has run.
  const output = execFileSync('sh', ['-c', 'pgbench "$@"; times', 'sh', ...args, '-T', String(SECONDS), '-n', url], {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'ignore'],
    input: '',
  });
  const match = /tps = ([\d.]+)/.exec(output);
  const tps = match ? Number(match[1]) : NaN;
  const times = [...output.matchAll(/(\d+)m([\d.]+)s/g)].map((time) => Number(time[1]) * 60 + Number(time[2]));
  const [childUser, childSystem] = times.slice(-2);
  if (cpuName && times.length >= 4) recordCpu(cpuName, childUser + childSystem, serverCpuSeconds() - serverBefore, tps * SECONDS);
  return tps;
}

function pgbenchPoint(): number {
  const script = '/tmp/rxpg-bench-point.sql';
  execFileSync('sh', ['-c', `printf '%s\\n' '\\set id random(1, ${ROWS})' 'SELECT id, payload FROM rxpg_bench_point WHERE id = :id;' > ${script}`]);
  return pgbench(['-M', 'prepared', '-c', '10', '-j', '2', '-f', script], 'pgbench -M prepared');
}

await setup();
const point = new Map<string, number[]>();
const record = (map: Map<string, number[]>, name: string, value: number) => map.set(name, [...(map.get(name) ?? []), value]);
const makers: Record<string, (size: number) => Peer> = {
  rxpg: rxpgPeer,
  // Callers beyond the pool's 10 sessions share their pipelines, up to 4 statements each.
  'rxpg pipeline: 4': (size) => rxpgPeer(size, 4),
  'pg.Pool': pgPoolPeer,
  'postgres.js': postgresJsPeer,
  'pg-promise': pgPromisePeer,
};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, make] of Object.entries(makers)) {
    const peer = make(10);
    await peer.point();
    record(point, name, await loops(32, peer.point, name));
    await peer.close();
  }
  record(point, 'pgbench -M prepared', pgbenchPoint());
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}

// The RxJS layer's overhead: rxpg query() against the raw pg Client it uses, same connection kind,
// sequential point queries.
const raw = new pg.Client({ connectionString: url });
await raw.connect();
const one = new PgManager();
one.createConn({ connectionString: url, poolSize: 1, sslmode: 'disable' });
await firstValueFrom(one.query('SELECT 1'));
const overhead: { raw: number[]; rxpg: number[] } = { raw: [], rxpg: [] };
for (let round = 0; round < (EVERY_WORKLOAD ? ROUNDS : 0); round++) {
  let started = performance.now();
  for (let i = 0; i < 3000; i++) await raw.query(POINT, [randomId()]);
  overhead.raw.push((performance.now() - started) / 3000);
  started = performance.now();
  for (let i = 0; i < 3000; i++) await firstValueFrom(one.query(POINT, [randomId()]));
  overhead.rxpg.push((performance.now() - started) / 3000);
}
await raw.end();
await one.close();

const table = (title: string, results: Map<string, number[]>, limit: string) => {
  const limitRate = median(results.get(limit) ?? [NaN]);
  const bestPeer = Math.max(...[...results].filter(([name]) => !name.startsWith('rxpg') && name !== limit).map(([, values]) => median(values)));
  console.log(`\n### ${title}\n`);
  console.log(`| client | per second | vs best peer | vs ${limit} |`);
  console.log('|---|---|---|---|');
  for (const [name, values] of results) {
    const rate = median(values);
    console.log(`| ${name} | ${Math.round(rate).toLocaleString('en')} | ${(rate / bestPeer).toFixed(2)}x | ${(rate / limitRate).toFixed(2)}x |`);
  }
};
table(`Point query: 32 concurrent callers, pool of 10, ${SECONDS} s per run`, point, 'pgbench -M prepared');
// On a machine where client and server share the cores, CPU per query bounds throughput:
// at most cores / (client + server) queries per second, whatever the client's design.
console.log(`\n### Point query: CPU per query (the client's process, every postgres process), ${cpus().length} cores shared\n`);
console.log('| client | client CPU | server CPU | bound: cores / (client + server) |');
console.log('|---|---|---|---|');
for (const [name, entry] of cpuPerQuery) {
  const client = median(entry.client);
  const server = median(entry.server);
  const bound = (cpus().length * 1e6) / (client + server);
  console.log(`| ${name} | ${client.toFixed(1)} µs | ${Number.isNaN(server) ? 'n/a' : `${server.toFixed(1)} µs`} | ${Number.isNaN(bound) ? 'n/a' : Math.round(bound).toLocaleString('en')}/s |`);
}
if (EVERY_WORKLOAD) {
  const rawMillis = median(overhead.raw);
  const rxpgMillis = median(overhead.rxpg);
  console.log('\n### RxJS layer overhead: sequential point queries on one session\n');
  console.log('| client | per query | vs raw pg |');
  console.log('|---|---|---|');
  console.log(`| raw pg Client | ${(rawMillis * 1000).toFixed(1)} µs | 1.00x |`);
  console.log(`| rxpg query() | ${(rxpgMillis * 1000).toFixed(1)} µs | ${(rxpgMillis / rawMillis).toFixed(2)}x |`);
}
await database.stop();
