// One MariaDB reader in a process of its own; prints { peer, rows, millis, cpuMillis, maxRssMB, rssGrowthMB, checksum }.
import mysql from 'mysql2';
import { lastValueFrom, map } from 'rxjs';
import { MyManager } from 'rxpg/mysql';

const [peer, url, table] = process.argv.slice(2);
const SQL = `SELECT id, label, score, created_at FROM ${table}`;
let rows = 0;
let checksum = 0;
// Every field of every row is read; ids may come as strings (MyManager keeps BIGINT exact).
function touch(id: number | string, label: string, score: number, createdAt: Date): void {
  rows++;
  checksum = (checksum + Number(id) + label.length + Number(score) + createdAt.getTime()) % 1_000_000_007;
}
const rssAtStartMB = process.memoryUsage().rss / 1048576;
const started = performance.now();
const cpuAtStart = process.cpuUsage();
if (peer === 'rxpg MyManager') {
  const mym = new MyManager();
  mym.createConn({ connectionString: url, poolSize: 1 });
  await lastValueFrom(
    mym.stream<{ id: string; label: string; score: number; created_at: Date }>(SQL, [], { batchSize: 5000 }).pipe(map((row) => touch(row.id, row.label, row.score, row.created_at))),
    { defaultValue: undefined },
  );
  await mym.close();
} else {
  const connection = mysql.createConnection({ uri: url });
  if (peer === 'mysql2 stream' || peer === 'mysql2 execute stream') {
    await new Promise<void>((resolve, reject) => {
      // execute() is the binary protocol (a prepared statement); mysql2 types its stream() on query() only.
      const command = (peer === 'mysql2 stream' ? connection.query(SQL) : connection.execute(SQL, [])) as ReturnType<typeof connection.query>;
      const stream = command.stream({ highWaterMark: 5000 });
      stream.on('data', (row: { id: number; label: string; score: number; created_at: Date }) => touch(row.id, row.label, row.score, row.created_at));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
  } else {
    const result = await connection.promise().query(SQL);
    for (const row of result[0] as { id: number; label: string; score: number; created_at: Date }[]) touch(row.id, row.label, row.score, row.created_at);
  }
  connection.end();
}
const millis = performance.now() - started;
// This process's own CPU (user + system): what the reader costs, less moved by other load than wall time.
const cpu = process.cpuUsage(cpuAtStart);
const cpuMillis = (cpu.user + cpu.system) / 1000;
const maxRssMB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ peer, rows, millis, cpuMillis, maxRssMB, rssGrowthMB: maxRssMB - rssAtStartMB, checksum }));
