// One MariaDB loader in a process of its own (so its RSS is its own). Prints one JSON line:
// { peer, rows, millis, maxRssMB, rssGrowthMB }. Every loader gets the same generated rows
// (bench/copy-rows.ts) into an empty (id, label, score, created_at) table:
// - rxpg copyFrom: MyManager's copyFrom() feeding LOAD DATA LOCAL INFILE, its own encoder.
// - mysql2 LOAD DATA: mysql2's infileStreamFactory fed with a Readable of the shared encoding.
// - rxpg INSERTs: 1,000-row INSERTs through MyManager's command(), the baseline.
import { Readable } from 'node:stream';
import mysql from 'mysql2';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { MyManager } from 'rxpg/mysql';
import { copyRows, insertRows } from './copy-rows.js';
import { encodeLoadDataLines } from './mysql-copy-rows.js';

const [peer, url, table, rowsArgument] = process.argv.slice(2);
const ROWS = Number(rowsArgument);
const COLUMNS = '(id, label, score, created_at)';
let maxRss = 0;
const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 20);
const rssAtStart = process.memoryUsage().rss;
let rows = 0;
const started = performance.now();

switch (peer) {
  case 'rxpg copyFrom': {
    const mym = new MyManager();
    mym.createConn({ connectionString: url, poolSize: 1 });
    rows = await firstValueFrom(mym.copyFrom(`LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table} ${COLUMNS}`, copyRows(ROWS)));
    await mym.close();
    break;
  }
  case 'rxpg INSERTs': {
    const mym = new MyManager();
    mym.createConn({ connectionString: url, poolSize: 1 });
    rows = await insertRows(ROWS, 1000, (params, count) =>
      lastValueFrom(mym.command(`INSERT INTO ${table} ${COLUMNS} VALUES ${Array(count).fill('(?, ?, ?, ?)').join(', ')}`, params)),
    );
    await mym.close();
    break;
  }
  case 'mysql2 LOAD DATA': {
    const connection = mysql.createConnection({ uri: url });
    const [result] = await connection.promise().query({
      sql: `LOAD DATA LOCAL INFILE 'rows' INTO TABLE ${table} ${COLUMNS}`,
      // mysql2 takes Buffers only.
      infileStreamFactory: () => Readable.from((function* () { for (const text of encodeLoadDataLines(copyRows(ROWS))) yield Buffer.from(text, 'utf8'); })()),
    });
    rows = (result as { affectedRows: number }).affectedRows;
    await connection.promise().end();
    break;
  }
  default:
    throw new Error(`unknown peer ${peer}`);
}
const millis = performance.now() - started;
clearInterval(sampler);
maxRss = Math.max(maxRss, process.memoryUsage().rss);
console.log(JSON.stringify({ peer, rows, millis, maxRssMB: maxRss / 1048576, rssGrowthMB: (maxRss - rssAtStart) / 1048576 }));
