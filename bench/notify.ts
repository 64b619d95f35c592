// `npm run bench:notify`: LISTEN/NOTIFY through rxpg, raw pg, pg-listen and postgres.js in one
// run: a burst of 100k notifications (sent in one transaction, delivered together at commit)
// and 2,000 sequential notify → receive round trips (p50, p99). The same raw pg client sends for
// every peer; rounds are interleaved; figures are medians over rounds. Each listener first gets
// an untimed warm-up burst (a fifth of the burst), so every peer is measured JIT-compiled, as
// a long-running listener is.
import { cpus } from 'node:os';
import pg from 'pg';
import pgListen from 'pg-listen';
import postgres from 'postgres';
import { firstValueFrom } from 'rxjs';
import { PgManager } from 'rxpg';
import { findOrStartDatabase } from '../scripts/test-database.js';

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const BURST = argument('burst', 100_000);
const TRIPS = argument('trips', 2000);
const ROUNDS = argument('rounds', 3);

interface Listener {
  /** Resolves once LISTEN is in place; `onPayload` is called per notification. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}

// pg-listen is CommonJS with `exports.default`.
const createSubscriber = (pgListen as unknown as { default: typeof pgListen.default }).default;

const database = await findOrStartDatabase((line) => console.log(line));
const url = database.url;

const peers: Record<string, () => Promise<Listener>> = {
  rxpg: async () => {
    const pgm = new PgManager();
    pgm.createConnListen({ name: 'listen', connectionString: url, healthCheckInterval: 0, sslmode: 'disable' });
    return {
      listen: async (channel, onPayload) => {
        pgm.notifications(channel).subscribe((note) => onPayload(note.payload));
        for (;;) {
          const channels = await firstValueFrom(pgm.listeningChannels()).catch(() => [] as string[]);
          if (channels.includes(channel)) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
      close: () => pgm.close(),
    };
  },
  'raw pg': async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      listen: async (channel, onPayload) => {
        client.on('notification', (message) => onPayload(message.payload ?? ''));
        await client.query(`LISTEN "${channel}"`);
      },
      close: () => client.end(),
    };
  },
  'pg-listen': async () => {
    const subscriber = createSubscriber({ connectionString: url }, { parse: (text: string) => text, paranoidChecking: false });
    await subscriber.connect();
    return {
      listen: async (channel, onPayload) => {
        subscriber.notifications.on(channel, (payload: string) => onPayload(payload));
        await subscriber.listenTo(channel);
      },
      close: () => subscriber.close(),
    };
  },
  'postgres.js': async () => {
    const sql = postgres(url, { max: 1 });
    return {
      listen: async (channel, onPayload) => {
        await sql.listen(channel, (payload) => onPayload(payload));
      },
      close: () => sql.end(),
    };
  },
};

const sender = new pg.Client({ connectionString: url });
await sender.connect();

async function measure(name: string, round: number): Promise<{ burstPerSecond: number; cpuNanos: number; latencies: number[] }> {
  const listener = await peers[name]();
  const burstChannel = `bench_burst_${round}_${name.replace(/\W/g, '_')}`;
  const tripChannel = `bench_trip_${round}_${name.replace(/\W/g, '_')}`;
  let received = 0;
  let expected = Math.ceil(BURST / 5);
  let burstDone: () => void = () => {};
  await listener.listen(burstChannel, () => {
    if (++received === expected) burstDone();
  });
  const burst = async (count: number): Promise<void> => {
    received = 0;
    expected = count;
    const finished = new Promise<void>((resolve) => (burstDone = resolve));
    // PERFORM in a DO block: the sender receives no 100k-row result, which would load this process.
    await sender.query(`DO $$ BEGIN PERFORM pg_notify('${burstChannel}', n::text) FROM generate_series(1, ${count}) AS n; END $$`);
    await finished;
  };
  await burst(expected);
  let tripDone: (payload: string) => void = () => {};
  await listener.listen(tripChannel, (payload) => tripDone(payload));
  const burstStarted = performance.now();
  const cpuBefore = process.cpuUsage();
  await burst(BURST);
  const burstPerSecond = BURST / ((performance.now() - burstStarted) / 1000);
  // This process's CPU per notification received (the sender's share is one query): the burst
  // rate is bounded by the server, this is what the listener itself costs.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuNanos = ((cpu.user + cpu.system) * 1000) / BURST;
  const latencies: number[] = [];
  for (let trip = 0; trip < TRIPS; trip++) {
    const arrived = new Promise<string>((resolve) => (tripDone = resolve));
    const started = performance.now();
    await sender.query('SELECT pg_notify($1, $2)', [tripChannel, String(trip)]);
    if ((await arrived) !== String(trip)) throw new Error(`${name}: round trip ${trip} got the wrong payload`);
    latencies.push(performance.now() - started);
  }
  await listener.close();
  return { burstPerSecond, cpuNanos, latencies };
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const median = (values: number[]): number => percentile(values, 50);

const results = new Map<string, { bursts: number[]; cpu: number[]; p50: number[]; p99: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round, so no listener always runs first (cold) or last.
  const names = Object.keys(peers);
  for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
    const { burstPerSecond, cpuNanos, latencies } = await measure(name, round);
    const entry = results.get(name) ?? { bursts: [], cpu: [], p50: [], p99: [] };
    entry.bursts.push(burstPerSecond);
    entry.cpu.push(cpuNanos);
    entry.p50.push(percentile(latencies, 50));
    entry.p99.push(percentile(latencies, 99));
    results.set(name, entry);
  }
  console.log(`round ${round + 1}/${ROUNDS} done`);
}
await sender.end();

const bestBurst = Math.max(...[...results].filter(([name]) => name !== 'rxpg').map(([, entry]) => median(entry.bursts)));
const rawP99 = median(results.get('raw pg')?.p99 ?? [NaN]);
const serverVersion = (await (async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const version = (await client.query('SHOW server_version')).rows[0].server_version as string;
  await client.end();
  return version;
})());
console.log(`\nNOTIFY burst of ${BURST.toLocaleString('en')} and ${TRIPS} sequential round trips, median of ${ROUNDS} interleaved rounds`);
console.log(`PostgreSQL ${serverVersion} (${database.origin}), Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| listener | burst received/s | vs fastest peer | listener CPU per notification | round trip p50 | p99 | p99 vs raw pg |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, entry] of results) {
  const burst = median(entry.bursts);
  const p99 = median(entry.p99);
  console.log(`| ${name} | ${(burst / 1e6).toFixed(2)}M | ${(burst / bestBurst).toFixed(2)}x | ${Math.round(median(entry.cpu))} ns | ${median(entry.p50).toFixed(3)} ms | ${p99.toFixed(3)} ms | ${(p99 / rawP99).toFixed(2)}x |`);
}
await database.stop();
