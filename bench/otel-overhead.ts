// What `instrument()` from rxpg/opentelemetry costs on point queries (`npm run bench:otel`):
// the same workload without instrumentation, instrumented with the no-op API (no SDK
// registered: what a library user pays who never sets one up), and instrumented with an SDK
// that keeps every span and metric in memory (the AsyncLocalStorage context manager, a
// SimpleSpanProcessor into an InMemorySpanExporter, a MeterProvider with a reader). Each run is
// a process of its own, so the SDK's global registration never touches the other variants;
// the variants are interleaved round by round and their order rotates. Prints markdown.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';
import { PgManager, type DbManager } from 'rxpg';
// Internal, for the hooks-alone figure: the seam rxpg/opentelemetry plugs into.
import { hooksSlotOf, type OperationStart } from '../dist/manager/manager-hooks.js';
import { findOrStartDatabase } from '../scripts/test-database.js';

const argument = (name: string, fallback: string): string => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
};
const SECONDS = Number(argument('seconds', '5'));
const ROUNDS = Number(argument('rounds', '5'));
const CONCURRENCY = Number(argument('concurrency', '8'));
const ROWS = 100_000;
const VARIANTS = ['plain', 'noop-api', 'in-memory-sdk'] as const;
type Variant = (typeof VARIANTS)[number];
const POINT = 'SELECT id, payload FROM rxpg_bench_otel WHERE id = $1';

interface RunResult {
  readonly queriesPerSecond: number;
  /** Client CPU (user + system) per query, in microseconds. */
  readonly cpuMicrosPerQuery: number;
  readonly spans: number;
  /** CPU of the hooks alone per statement (start, client call, an event, end), in nanoseconds; 0 without them. */
  readonly hookNanosPerStatement: number;
}

/**
 * The instrumentation's own CPU per statement, without a server: what it adds to every
 * statement, measured apart from the round trip, whose noise on a shared machine is larger
 * than this. Yields to the event loop every 50 statements, as a workload does (the SDK's span
 * processor settles a promise per span).
 */
async function hookNanos(manager: DbManager, statements: number, reset: () => void): Promise<number> {
  const hooks = hooksSlotOf(manager)?.hooks;
  if (hooks === undefined) return 0;
  const start: OperationStart = {
    kind: 'statement',
    method: 'query',
    target: { conn: 'default', dialect: 'postgres', host: '127.0.0.1', port: 5432, database: 'test' },
    sql: POINT,
    parent: undefined,
  };
  const once = async (): Promise<void> => {
    for (let index = 0; index < statements; index++) {
      if (index % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (index % 1000 === 0) reset();
      const tracker = hooks.start(start);
      hooks.clientCall?.(() => index);
      hooks.event?.({ type: 'acquire', conn: 'default', processId: 1, waitMillis: 0 });
      tracker?.succeeded(1);
    }
  };
  await once();
  const before = process.cpuUsage();
  await once();
  const cpu = process.cpuUsage(before);
  return ((cpu.user + cpu.system) * 1000) / statements;
}

/** One measured run in this process: warm up, then SECONDS of CONCURRENCY loops. */
async function run(variant: Variant, url: string): Promise<RunResult> {
  const pgm = new PgManager();
  pgm.createConn({ connectionString: url, poolSize: CONCURRENCY, sslmode: 'disable' });
  let spans = (): number => 0;
  let reset = (): void => {};
  if (variant === 'noop-api') {
    const { instrument } = await import('rxpg/opentelemetry');
    instrument(pgm);
  } else if (variant === 'in-memory-sdk') {
    const { context, metrics, trace } = await import('@opentelemetry/api');
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const { InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
    const { instrument } = await import('rxpg/opentelemetry');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    metrics.setGlobalMeterProvider(
      new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 1000 })] }),
    );
    instrument(pgm);
    let kept = 0;
    spans = () => kept + exporter.getFinishedSpans().length;
    // Spans are dropped as they pile up, as an exporter that ships them would: memory stays flat.
    reset = () => {
      kept += exporter.getFinishedSpans().length;
      exporter.reset();
    };
  }
  const point = () => firstValueFrom(pgm.query(POINT, [1 + Math.floor(Math.random() * ROWS)]));
  const loops = async (seconds: number): Promise<number> => {
    const deadline = Date.now() + seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < deadline) {
          await point();
          if (++done % 10_000 === 0) reset();
        }
      }),
    );
    return done;
  };
  await loops(1);
  reset();
  const spansBefore = spans();
  const cpuBefore = process.cpuUsage();
  const done = await loops(SECONDS);
  const cpu = process.cpuUsage(cpuBefore);
  const measured = spans() - spansBefore;
  reset();
  const hookNanosPerStatement = await hookNanos(pgm, 100_000, reset);
  reset();
  const result = { queriesPerSecond: done / SECONDS, cpuMicrosPerQuery: (cpu.user + cpu.system) / done, spans: measured, hookNanosPerStatement };
  await pgm.close();
  return result;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const child = argument('variant', '');
if (child !== '') {
  const result = await run(child as Variant, argument('url', ''));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const database = await findOrStartDatabase((line) => process.stderr.write(`${line}\n`));
const pg = (await import('pg')).default;
const admin = new pg.Client({ connectionString: database.url });
await admin.connect();
if ((await admin.query("SELECT 1 FROM pg_tables WHERE tablename = 'rxpg_bench_otel'")).rowCount === 0) {
  await admin.query(`CREATE TABLE rxpg_bench_otel AS SELECT n AS id, md5(n::text) AS payload FROM generate_series(1, ${ROWS}) AS n`);
  await admin.query('ALTER TABLE rxpg_bench_otel ADD PRIMARY KEY (id)');
  await admin.query('VACUUM ANALYZE rxpg_bench_otel');
}
await admin.end();

const results = new Map<Variant, RunResult[]>(VARIANTS.map((variant) => [variant, []]));
const self = fileURLToPath(import.meta.url);
for (let round = 0; round < ROUNDS; round++) {
  const order = VARIANTS.map((_, index) => VARIANTS[(index + round) % VARIANTS.length]);
  for (const variant of order) {
    const output = execFileSync(
      process.execPath,
      ['--import', 'tsx', self, '--variant', variant, '--url', database.url, '--seconds', String(SECONDS), '--concurrency', String(CONCURRENCY)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const result = JSON.parse(output.trim().split('\n').at(-1) as string) as RunResult;
    results.get(variant)?.push(result);
    process.stderr.write(`round ${round + 1} ${variant}: ${Math.round(result.queriesPerSecond)} q/s, ${result.cpuMicrosPerQuery.toFixed(1)} µs CPU/query\n`);
  }
}
await database.stop?.();

const plain = results.get('plain') as RunResult[];
const base = { qps: median(plain.map((r) => r.queriesPerSecond)), cpu: median(plain.map((r) => r.cpuMicrosPerQuery)) };
const lines = [
  `Point queries, ${CONCURRENCY} loops on a pool of ${CONCURRENCY}, ${ROUNDS} interleaved rounds of ${SECONDS} s; medians (min–max).`,
  '',
  '| variant | queries/s | vs plain | client CPU µs/query | vs plain | spans per round | hooks alone, ns CPU/statement |',
  '|---|---|---|---|---|---|---|',
];
for (const variant of VARIANTS) {
  const runs = results.get(variant) as RunResult[];
  const qps = runs.map((r) => r.queriesPerSecond);
  const cpu = runs.map((r) => r.cpuMicrosPerQuery);
  const pct = (value: number, reference: number) => `${value >= reference ? '+' : ''}${(((value - reference) / reference) * 100).toFixed(1)} %`;
  lines.push(
    `| ${variant} | ${Math.round(median(qps))} (${Math.round(Math.min(...qps))}–${Math.round(Math.max(...qps))}) | ${pct(median(qps), base.qps)} | ` +
      `${median(cpu).toFixed(1)} (${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)}) | ${pct(median(cpu), base.cpu)} | ${median(runs.map((r) => r.spans))} | ${Math.round(median(runs.map((r) => r.hookNanosPerStatement)))} |`,
  );
}
lines.push(
  '',
  `The hooks alone against plain's client CPU per query: no-op API ${((median((results.get('noop-api') as RunResult[]).map((r) => r.hookNanosPerStatement)) / 1000 / base.cpu) * 100).toFixed(1)} %, ` +
    `in-memory SDK ${((median((results.get('in-memory-sdk') as RunResult[]).map((r) => r.hookNanosPerStatement)) / 1000 / base.cpu) * 100).toFixed(1)} %.`,
);
process.stdout.write(`${lines.join('\n')}\n`);
