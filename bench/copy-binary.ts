// `tsx bench/copy-binary.ts [rows]` (after npm run build): what COPY's binary format would buy
// copyFrom, measured before building it. The bench rows go in through copyFrom() in COPY's text
// format (rxpg's encoder) and in binary format (a hand-written encoder for exactly these columns:
// int4, text, float8, timestamptz, sent as Buffers), alternating, with the client's CPU and the
// server backend's (from /proc: the server must be on this machine). rxpg has no binary encoder:
// binary needs each column's type, which a COPY's CopyInResponse does not carry.
import { readFileSync } from 'node:fs';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { PgManager } from 'rxpg';
import { findOrStartDatabase } from '../scripts/test-database.js';
import { copyRows } from './copy-rows.js';
const ROWS = Number(process.argv[2] ?? 2_000_000);
const database = await findOrStartDatabase((line) => console.log(line));
const pgm = new PgManager();
pgm.createConn({ connectionString: database.url, poolSize: 1, sslmode: 'disable' });
const table = `rxpg_bench_copy_binary_${process.pid}`;
await lastValueFrom(pgm.command(`CREATE TABLE ${table} (id int, label text, score float8, created_at timestamptz)`));
const EPOCH_2000 = 946_684_800_000;
function* binary(rows: Iterable<[number, string, number, Date]>): Generator<Buffer> {
  let buffer = Buffer.allocUnsafe(65536 + 1024);
  let at = 0;
  buffer.write('PGCOPY\n\xff\r\n\0', 0, 'latin1'); at = 11; buffer.writeInt32BE(0, at); buffer.writeInt32BE(0, at + 4); at += 8;
  for (const [id, label, score, created] of rows) {
    if (at > 65536 - label.length * 3) { yield buffer.subarray(0, at); buffer = Buffer.allocUnsafe(65536 + 1024); at = 0; }
    buffer.writeInt16BE(4, at); at += 2;
    buffer.writeInt32BE(4, at); buffer.writeInt32BE(id, at + 4); at += 8;
    const length = buffer.write(label, at + 4, 'utf8'); buffer.writeInt32BE(length, at); at += 4 + length;
    buffer.writeInt32BE(8, at); buffer.writeDoubleBE(score, at + 4); at += 12;
    const micros = (created.getTime() - EPOCH_2000) * 1000;
    const high = Math.floor(micros / 4294967296);
    buffer.writeInt32BE(8, at); buffer.writeInt32BE(high, at + 4); buffer.writeUInt32BE(micros - high * 4294967296, at + 8); at += 12;
  }
  buffer.writeInt16BE(-1, at); at += 2;
  yield buffer.subarray(0, at);
}
const serverCpu = (pid: number): number => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const pid = (await firstValueFrom(pgm.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))).pid;
for (let round = 0; round < 3; round++) for (const format of ['text', 'binary']) {
  await lastValueFrom(pgm.command(`TRUNCATE ${table}`));
  const s0 = serverCpu(pid); const c0 = process.cpuUsage(); const t = performance.now();
  const sql = `COPY ${table} (id, label, score, created_at) FROM STDIN${format === 'binary' ? ' (FORMAT binary)' : ''}`;
  const n = await firstValueFrom(pgm.copyFrom(sql, format === 'binary' ? binary(copyRows(ROWS)) : copyRows(ROWS)));
  const ms = performance.now() - t; const c = process.cpuUsage(c0); const s = serverCpu(pid) - s0;
  console.log(format.padEnd(6), (ROWS / ms / 1e3).toFixed(2) + 'M rows/s', 'client cpu', ((c.user + c.system) / 1000).toFixed(0), 'ms', 'server cpu', s, 'ms', n);
}
const check = await firstValueFrom(pgm.query<{ ok: boolean }>(`SELECT bool_and(label = 'label ' || id AND score = id / 7.0::float8 AND created_at = timestamptz '2025-01-01 00:00:00+00' + id * interval '1 second') AS ok FROM ${table}`));
// The positive control: what the binary encoder sent reads back as the rows.
console.log('binary rows read back equal:', check.ok);
await lastValueFrom(pgm.command(`DROP TABLE ${table}`));
await pgm.close();
await database.stop();
