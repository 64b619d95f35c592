// One COPY client in a process of its own (so its RSS is its own). Prints one JSON line:
// { peer, direction, rows, bytes, millis, cpuMillis, maxRssMB, rssGrowthMB }.
// to:   COPY <table> TO STDOUT into a sink that counts bytes.
// from: the same generated rows (copyRows) into an empty table; rxpg encodes its own rows (in
//       COPY's text format, or binary as rxpg-binary), the peers get the same text encoding
//       (encodeLines), written with their streams' backpressure.
import { once } from 'node:events';
import pg from 'pg';
import { from as copyFromStdin, to as copyToStdout } from 'pg-copy-streams';
import postgres from 'postgres';
import { firstValueFrom, lastValueFrom, reduce } from 'rxjs';
import { PgManager } from 'rxpg';
import { copyRows, encodeLines, insertRows } from './copy-rows.js';

const [peer, direction, url, table, rowsArgument] = process.argv.slice(2);
const ROWS = Number(rowsArgument);
let maxRss = 0;
const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 20);
const rssAtStart = process.memoryUsage().rss;
let bytes = 0;
let rows = 0;
const started = performance.now();
const cpuAtStart = process.cpuUsage();

/** Writes the encoded lines into a Node writable, waiting for 'drain' as a stream user must. */
async function writeLines(stream: NodeJS.WritableStream): Promise<void> {
  for (const text of encodeLines(copyRows(ROWS))) {
    if (!stream.write(text)) await once(stream, 'drain');
  }
}

if (direction === 'to') {
  const sql = `COPY ${table} TO STDOUT`;
  switch (peer) {
    case 'rxpg': {
      const pgm = new PgManager();
      pgm.createConn({ connectionString: url, poolSize: 1, sslmode: 'disable' });
      bytes = await lastValueFrom(pgm.copyTo(sql).pipe(reduce((sum, chunk) => sum + chunk.length, 0)));
      await pgm.close();
      break;
    }
    case 'pg-copy-streams': {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const stream = client.query(copyToStdout(sql));
      for await (const chunk of stream) bytes += (chunk as Buffer).length;
      await client.end();
      break;
    }
    case 'postgres.js': {
      const sql2 = postgres(url, { max: 1 });
      const stream = await sql2.unsafe(sql).readable();
      for await (const chunk of stream) bytes += (chunk as Buffer).length;
      await sql2.end();
      break;
    }
    default:
      throw new Error(`unknown peer ${peer}`);
  }
} else {
  const sql = `COPY ${table} (id, label, score, created_at) FROM STDIN`;
  switch (peer) {
    case 'rxpg': {
      const pgm = new PgManager();
      pgm.createConn({ connectionString: url, poolSize: 1, sslmode: 'disable' });
      rows = await firstValueFrom(pgm.copyFrom(sql, copyRows(ROWS)));
      await pgm.close();
      break;
    }
    case 'rxpg-binary': {
      // The same rows in COPY's binary format: copyFrom() with each column's type.
      const pgm = new PgManager();
      pgm.createConn({ connectionString: url, poolSize: 1, sslmode: 'disable' });
      rows = await firstValueFrom(pgm.copyFrom(`${sql} (FORMAT binary)`, copyRows(ROWS), { types: ['int4', 'text', 'float8', 'timestamptz'] }));
      await pgm.close();
      break;
    }
    case 'rxpg-inserts': {
      // The baseline COPY is measured against: 1,000-row INSERTs through query().
      const pgm = new PgManager();
      pgm.createConn({ connectionString: url, poolSize: 1, sslmode: 'disable' });
      rows = await insertRows(ROWS, 1000, (params, count) => {
        const values = Array.from({ length: count }, (_, row) => `($${row * 4 + 1}, $${row * 4 + 2}, $${row * 4 + 3}, $${row * 4 + 4})`).join(', ');
        return lastValueFrom(pgm.command(`INSERT INTO ${table} (id, label, score, created_at) VALUES ${values}`, params));
      });
      await pgm.close();
      break;
    }
    case 'pg-copy-streams': {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const stream = client.query(copyFromStdin(sql));
      await writeLines(stream);
      stream.end();
      await once(stream, 'finish');
      rows = Number((stream as unknown as { rowCount: number }).rowCount);
      await client.end();
      break;
    }
    case 'postgres.js': {
      const sql2 = postgres(url, { max: 1 });
      const stream = await sql2.unsafe(sql).writable();
      await writeLines(stream);
      stream.end();
      await once(stream, 'finish');
      rows = ROWS;
      await sql2.end();
      break;
    }
    default:
      throw new Error(`unknown peer ${peer}`);
  }
}
const millis = performance.now() - started;
const cpu = process.cpuUsage(cpuAtStart);
clearInterval(sampler);
maxRss = Math.max(maxRss, process.memoryUsage().rss);
console.log(JSON.stringify({ peer, direction, rows, bytes, millis, cpuMillis: (cpu.user + cpu.system) / 1000, maxRssMB: maxRss / 1048576, rssGrowthMB: (maxRss - rssAtStart) / 1048576 }));
