// `npm run bench:rows`: what an OrderedRow costs per row against pg's plain object rows.
//  1. building rows in memory (no I/O): pg's way (object from a prebuilt template, one key per
//     column) against rxpg's (values array wrapped by the result's shared RowShape), time and
//     retained heap per row;
//  2. end to end on the server: 200k rows × 5 columns collected by pg's client.query against
//     rxpg's query() + toArray(), same server, interleaved rounds, median.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { lastValueFrom, toArray } from 'rxjs';
import { PgManager, RowShape } from 'rxpg';
import { findOrStartDatabase } from '../scripts/test-database.js';

const ROWS = 1_000_000;
const names = ['id', 'name', 'email', 'created_at', 'score'];
const raw = Array.from({ length: 1000 }, (_, index) => [index, `name${index}`, `n${index}@example.com`, '2024-01-01', index * 1.5]);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// Each builder gets the parsed values as pg's parser holds them (one reused input) and makes the
// row the user receives: pg an object, rxpg a values array plus its wrapper.
function heapPerRow(build: (values: unknown[]) => unknown): number {
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const keep: unknown[] = new Array(200_000);
  for (let index = 0; index < keep.length; index++) keep[index] = build(raw[index % raw.length]);
  global.gc?.();
  const after = process.memoryUsage().heapUsed;
  if (keep.length === 0) console.log('unreachable');
  return (after - before) / keep.length;
}

function timePerRow(build: (values: unknown[]) => unknown): number {
  let sink = 0;
  const started = performance.now();
  for (let index = 0; index < ROWS; index++) {
    const row = build(raw[index % raw.length]) as { id: number };
    sink += row.id;
  }
  const elapsed = performance.now() - started;
  if (sink < 0) console.log(sink);
  return (elapsed * 1e6) / ROWS;
}

const template: Record<string, unknown> = Object.fromEntries(names.map((name) => [name, null]));
const pgStyle = (values: unknown[]): unknown => {
  const row: Record<string, unknown> = { ...template };
  for (let index = 0; index < names.length; index++) row[names[index]] = values[index];
  return row;
};
const shape = new RowShape(names.map((name) => ({ name, typeOid: 25, tableOid: 0, columnNumber: 0 })));
const rxpgStyle = (values: unknown[]): unknown => shape.row(values.slice());

const memoryRounds = { pg: [] as number[], rxpg: [] as number[] };
const timeRounds = { pg: [] as number[], rxpg: [] as number[] };
for (let round = 0; round < 5; round++) {
  timeRounds.pg.push(timePerRow(pgStyle));
  timeRounds.rxpg.push(timePerRow(rxpgStyle));
  memoryRounds.pg.push(heapPerRow(pgStyle));
  memoryRounds.rxpg.push(heapPerRow(rxpgStyle));
}
console.log('In memory, per row of 5 columns (median of 5 rounds):');
console.log(`  pg object:   ${median(timeRounds.pg).toFixed(1)} ns, ${median(memoryRounds.pg).toFixed(0)} bytes retained`);
console.log(`  OrderedRow:  ${median(timeRounds.rxpg).toFixed(1)} ns, ${median(memoryRounds.rxpg).toFixed(0)} bytes retained (values array included)`);
if (!global.gc) console.log('  (run with node --expose-gc for steadier heap figures)');

const database = await findOrStartDatabase((line) => console.log(line));
const SQL = `SELECT n AS id, 'name' || n AS name, 'n' || n || '@example.com' AS email, now() AS created_at, n * 1.5::float8 AS score
             FROM generate_series(1, 200000) AS n`;
const client = new pg.Client({ connectionString: database.url });
await client.connect();
const pgm = new PgManager();
pgm.createConn({ connectionString: database.url, poolSize: 1, sslmode: 'disable' });
await lastValueFrom(pgm.query('SELECT 1'));
const endToEnd = { pg: [] as number[], rxpg: [] as number[] };
for (let round = 0; round < 5; round++) {
  let started = performance.now();
  const result = await client.query(SQL);
  endToEnd.pg.push(performance.now() - started);
  if (result.rows.length !== 200_000) throw new Error('pg returned a short result');
  started = performance.now();
  // Collect every row, as pg's result does, so both keep the same amount of memory alive.
  const rows = await lastValueFrom(pgm.query(SQL).pipe(toArray()));
  endToEnd.rxpg.push(performance.now() - started);
  if (rows.length !== 200_000) throw new Error('rxpg returned a short result');
}
const pgMillis = median(endToEnd.pg);
const rxpgMillis = median(endToEnd.rxpg);
console.log('\nEnd to end, 200k rows × 5 columns (median of 5 interleaved rounds):');
console.log(`  pg client.query:  ${pgMillis.toFixed(0)} ms (${((pgMillis * 1e6) / 200_000).toFixed(0)} ns/row)`);
console.log(`  rxpg query():     ${rxpgMillis.toFixed(0)} ms (${((rxpgMillis * 1e6) / 200_000).toFixed(0)} ns/row), ratio ${(rxpgMillis / pgMillis).toFixed(2)}x`);
await client.end();
await pgm.close();
await database.stop();
