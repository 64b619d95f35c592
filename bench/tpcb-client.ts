// One Node client running TPC-B in a process of its own, for bench/tpcb.ts. Prints one JSON
// line: { client, tps, committed, clientCpuMicros, serverCpuMicros } (CPU per transaction).
// Usage: tpcb-client.ts <client> <url> <seconds> <pipelines> <poolSize>
import pg from 'pg';
import postgres from 'postgres';
import { concat, count, lastValueFrom } from 'rxjs';
import { type BatchStatement, PgManager } from 'rxpg';
import { serverCpuSeconds } from './server-cpu.js';

const [client, url, secondsText, pipelinesText, poolSizeText] = process.argv.slice(2);
const SECONDS = Number(secondsText);
const PIPELINES = Number(pipelinesText);
const POOL_SIZE = Number(poolSizeText);

// pgbench's built-in tpcb-like script at scale 1, with the same random ranges.
const TPCB = [
  'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2',
  'SELECT abalance FROM pgbench_accounts WHERE aid = $1',
  'UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2',
  'UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2',
  'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)',
];
const tpcbParams = () => {
  const aid = 1 + Math.floor(Math.random() * 100_000);
  const tid = 1 + Math.floor(Math.random() * 10);
  const delta = Math.floor(Math.random() * 10_001) - 5000;
  return { aid, tid, bid: 1, delta };
};

type Client = { tpcb: () => Promise<unknown>; close: () => Promise<void> };

function rxpgClient(form: 'transaction' | 'batch'): Client {
  const pgm = new PgManager();
  // Plain text like the peers (pg's default); rxpg's own default is libpq's sslmode=prefer.
  pgm.createConn({ connectionString: url, poolSize: POOL_SIZE, sslmode: 'disable' });
  const statements = (aid: number, tid: number, bid: number, delta: number) =>
    [
      [TPCB[0], [delta, aid]],
      [TPCB[1], [aid]],
      [TPCB[2], [delta, tid]],
      [TPCB[3], [delta, bid]],
      [TPCB[4], [tid, bid, aid, delta]],
    ] as const;
  return {
    tpcb: () => {
      const { aid, tid, bid, delta } = tpcbParams();
      if (form === 'batch') return oneRoundTrip(pgm, statements(aid, tid, bid, delta));
      return lastValueFrom(
        pgm
          .transaction((tx) =>
            concat(
              tx.query(TPCB[0], [delta, aid]),
              tx.query(TPCB[1], [aid]),
              tx.query(TPCB[2], [delta, tid]),
              tx.query(TPCB[3], [delta, bid]),
              tx.query(TPCB[4], [tid, bid, aid, delta]),
            ),
          )
          .pipe(count()),
      );
    },
    close: () => pgm.close(),
  };
}

/** The whole transaction in one round trip through rxpg: the five statements as one batch, which is one transaction by itself. */
function oneRoundTrip(pgm: PgManager, statements: readonly BatchStatement[]): Promise<unknown> {
  return lastValueFrom(pgm.batch(statements).pipe(count()));
}

function pgPoolClient(): Client {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
  return {
    tpcb: async () => {
      const { aid, tid, bid, delta } = tpcbParams();
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        await connection.query(TPCB[0], [delta, aid]);
        await connection.query(TPCB[1], [aid]);
        await connection.query(TPCB[2], [delta, tid]);
        await connection.query(TPCB[3], [delta, bid]);
        await connection.query(TPCB[4], [tid, bid, aid, delta]);
        await connection.query('COMMIT');
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}

function postgresJsClient(pipelined: boolean): Client {
  const sql = postgres(url, { max: POOL_SIZE });
  // Prepared as its tagged templates are: unsafe() alone describes each statement first, a
  // round trip more per statement, which would also stop the pipelined form from pipelining.
  const prepared = { prepare: true };
  return {
    tpcb: () => {
      const { aid, tid, bid, delta } = tpcbParams();
      if (pipelined) {
        // postgres.js pipelines the statements of an array returned from begin()'s callback;
        // BEGIN and COMMIT are round trips of their own.
        return sql.begin((tx) => [
          tx.unsafe(TPCB[0], [delta, aid], prepared),
          tx.unsafe(TPCB[1], [aid], prepared),
          tx.unsafe(TPCB[2], [delta, tid], prepared),
          tx.unsafe(TPCB[3], [delta, bid], prepared),
          tx.unsafe(TPCB[4], [tid, bid, aid, delta], prepared),
        ]);
      }
      return sql.begin(async (tx) => {
        await tx.unsafe(TPCB[0], [delta, aid], prepared);
        await tx.unsafe(TPCB[1], [aid], prepared);
        await tx.unsafe(TPCB[2], [delta, tid], prepared);
        await tx.unsafe(TPCB[3], [delta, bid], prepared);
        await tx.unsafe(TPCB[4], [tid, bid, aid, delta], prepared);
      });
    },
    close: () => sql.end(),
  };
}

const makers: Record<string, () => Client> = {
  'rxpg transaction()': () => rxpgClient('transaction'),
  'rxpg batch()': () => rxpgClient('batch'),
  'pg.Pool': pgPoolClient,
  'postgres.js begin()': () => postgresJsClient(false),
  'postgres.js begin() pipelined': () => postgresJsClient(true),
};
const make = makers[client];
if (!make) throw new Error(`unknown client ${client}; one of ${Object.keys(makers).join(', ')}`);
const peer = make();

let committed = 0;
/** Runs TPC-B in PIPELINES loops until `deadline`; returns when every loop has ended. */
async function loops(deadline: number): Promise<void> {
  await Promise.all(
    Array.from({ length: PIPELINES }, async () => {
      while (performance.now() < deadline) {
        await peer.tpcb();
        committed++;
      }
    }),
  );
}

// Untimed warm-up: every session of the pool connected, its statements prepared and the hot
// code compiled before the clock starts (pgbench has nothing to compile).
await loops(performance.now() + 1000);
const warmedUp = committed;
const cpuBefore = process.cpuUsage();
const serverBefore = serverCpuSeconds();
const started = performance.now();
await loops(started + SECONDS * 1000);
// Transactions that ended after the deadline count, over the time they took.
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const serverSeconds = serverCpuSeconds() - serverBefore;
const timed = committed - warmedUp;
await peer.close();
console.log(
  JSON.stringify({
    client,
    tps: timed / seconds,
    committed,
    clientCpuMicros: (cpu.user + cpu.system) / timed,
    serverCpuMicros: (serverSeconds * 1e6) / timed,
  }),
);
