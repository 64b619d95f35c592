// Benchmarks import rxpg as users do, from the compiled dist/ (each bench script builds first):
// TypeScript run through tsx is transformed differently and measured slower than the real thing.
// One peer reading the benchmark table in a process of its own (so its peak RSS is its own).
// Prints one JSON line: { peer, rows, millis, maxRssMB, rssGrowthMB, checksum }.
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import postgres from 'postgres';
import { lastValueFrom, map, timer } from 'rxjs';
import { PgManager } from 'rxpg';

const [peer, url, table, sink = 'sync'] = process.argv.slice(2);
const SQL = `SELECT id, label, score, created_at FROM ${table}`;
let rows = 0;
let checksum = 0;
// Every field of every row is read.
function touch(id: number, label: string, score: number, createdAt: Date): void {
  rows++;
  checksum = (checksum + id + label.length + score + createdAt.getTime()) % 1_000_000_007;
}

const rssAtStartMB = process.memoryUsage().rss / 1048576;
const started = performance.now();
switch (peer) {
  case 'rxpg': {
    const pgm = new PgManager();
    pgm.createConn({ connectionString: url, poolSize: 1, sslmode: 'disable' });
    if (sink === 'slow') {
      // The slow asynchronous sink of the issue: 1 ms per batch of 1,000 rows.
      await lastValueFrom(
        pgm.streamBatches<{ id: number; label: string; score: number; created_at: Date }, number>(SQL, [], (batch) => {
          for (const row of batch) touch(row.id, row.label, row.score, row.created_at);
          return timer(1).pipe(map(() => batch.length));
        }, { batchSize: 1000 }),
        { defaultValue: 0 },
      );
    } else {
      await lastValueFrom(
        pgm.stream<{ id: number; label: string; score: number; created_at: Date }>(SQL, [], { batchSize: 5000 }).pipe(
          map((row) => touch(row.id, row.label, row.score, row.created_at)),
        ),
        { defaultValue: undefined },
      );
    }
    await pgm.close();
    break;
  }
  case 'pg-query-stream': {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const stream = client.query(new QueryStream(SQL, [], { batchSize: 5000, highWaterMark: 5000 }));
    for await (const row of stream as AsyncIterable<{ id: number; label: string; score: number; created_at: Date }>) touch(row.id, row.label, row.score, row.created_at);
    await client.end();
    break;
  }
  case 'pg-cursor': {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const cursor = client.query(new Cursor(SQL));
    for (;;) {
      const batch: { id: number; label: string; score: number; created_at: Date }[] = await cursor.read(5000);
      if (batch.length === 0) break;
      for (const row of batch) touch(row.id, row.label, row.score, row.created_at);
    }
    await cursor.close();
    await client.end();
    break;
  }
  case 'postgres.js': {
    const sql = postgres(url, { max: 1 });
    await sql.unsafe(SQL).cursor(5000, (batch) => {
      for (const row of batch as unknown as { id: number; label: string; score: number; created_at: Date }[]) touch(row.id, row.label, row.score, row.created_at);
    });
    await sql.end();
    break;
  }
  case 'pg-buffered': {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const result = await client.query(SQL);
    for (const row of result.rows) touch(row.id, row.label, row.score, row.created_at);
    await client.end();
    break;
  }
  default:
    throw new Error(`unknown peer ${peer}`);
}
const millis = performance.now() - started;
const maxRssMB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ peer, sink, rows, millis, maxRssMB, rssGrowthMB: maxRssMB - rssAtStartMB, checksum }));
