// FrontendMessages: a submission's messages built into one buffer and written in one write.
// The bytes must be exactly those pg-protocol's serializer gives each message (the oracle here),
// for every message rxpg sends and every kind of value; a batch and a statement must reach the
// socket as one write each; values larger than the shared scratch, and two builders alive at
// once, must not corrupt each other; a socket that is no longer writable gets nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { serialize } from 'pg-protocol';
import { lastValueFrom, toArray } from 'rxjs';
import { QueryError } from '../src/index.js';
import { FrontendMessages, sendMessages, type MessageStream } from '../src/postgres/frontend-messages.js';
import { DATABASE_URL, testManager, uniqueName } from './support/database.js';

type Call = [keyof FrontendMessages & ('query' | 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'flush' | 'sync'), ...unknown[]];

const FLUSH = Buffer.from([0x48, 0, 0, 0, 4]);
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

/** pg-protocol's bytes for the same calls, joined (pg's Connection sends Flush and Sync as fixed buffers). */
function oracle(calls: readonly Call[]): Buffer {
  const serializer = serialize as unknown as Record<string, (config?: unknown) => Buffer>;
  return Buffer.concat(calls.map(([method, config]) => (method === 'flush' ? FLUSH : method === 'sync' ? SYNC : serializer[method](config))));
}

function built(calls: readonly Call[]): Buffer {
  const messages = new FrontendMessages();
  try {
    for (const [method, config] of calls) (messages[method] as (config?: unknown) => void)(config);
    return messages.bytes();
  } finally {
    messages.release();
  }
}

const UNICODE = 'zoë – 東京 – 🐘 – ß';
const CALLS: readonly Call[] = [
  ['query', 'SELECT 1; SELECT 2'],
  ['parse', { text: 'SELECT $1::int + $2::int' }],
  ['parse', { text: `SELECT '${UNICODE}' AS "ünï"`, name: 'rxpg_0a1b2c3d_1_7' }],
  ['parse', { text: 'SELECT $1, $2', name: 's', types: [23, 25] }],
  ['bind', { values: [] }],
  ['bind', { statement: 'rxpg_0a1b2c3d_1_7', values: ['1', null, '', UNICODE, Buffer.from([0, 1, 2, 255])] }],
  ['bind', { portal: 'p', statement: 's', values: [Buffer.alloc(0), null] }],
  ['describe', { type: 'P' }],
  ['describe', { type: 'S', name: 'rxpg_0a1b2c3d_1_7' }],
  ['execute', { rows: 0 }],
  ['execute', { rows: 500 }],
  ['execute', { portal: 'p', rows: 2 ** 31 - 1 }],
  ['execute', { rows: 2 ** 31 }],
  ['bind', { values: Array.from({ length: 40_000 }, (_, index) => (index % 2 === 0 ? null : String(index))) }],
  ['close', { type: 'S', name: 'rxpg_0a1b2c3d_1_7' }],
  ['close', { type: 'P' }],
  ['flush'],
  ['sync'],
];

describe('FrontendMessages', () => {
  it('builds each message with the bytes pg-protocol gives it', () => {
    for (const call of CALLS) assert.deepEqual(built([call]), oracle([call]), `${call[0]} ${String(JSON.stringify(call[1])).slice(0, 80)}`);
  });

  it('builds a whole pipeline, one message after the other, as the same bytes', () => {
    assert.deepEqual(built(CALLS), oracle(CALLS));
  });

  it('grows past its shared scratch for large values, and the next builder starts clean', () => {
    const large = Buffer.alloc(3 * 1024 * 1024, 7);
    const text = UNICODE.repeat(40_000);
    const calls: Call[] = [['bind', { values: [large, text, null] }], ['execute', { rows: 0 }], ['sync']];
    assert.deepEqual(built(calls), oracle(calls));
    assert.deepEqual(built([['sync']]), SYNC);
  });

  it('gives a second builder alive at once a buffer of its own', () => {
    const first = new FrontendMessages();
    const second = new FrontendMessages();
    try {
      first.parse({ text: 'SELECT 1' });
      second.bind({ values: ['x'.repeat(5000)] });
      first.sync();
      assert.deepEqual(first.bytes(), oracle([['parse', { text: 'SELECT 1' }], ['sync']]));
      assert.deepEqual(second.bytes(), oracle([['bind', { values: ['x'.repeat(5000)] }]]));
    } finally {
      first.release();
      second.release();
    }
  });

  it('writes once to a writable stream, nothing to one that is not, and nothing when building throws', () => {
    const writes: Buffer[] = [];
    const open: MessageStream = { writable: true, write: (chunk) => writes.push(chunk) > 0 };
    sendMessages(open, (messages) => {
      messages.execute({ rows: 0 });
      messages.sync();
    });
    assert.deepEqual(writes, [oracle([['execute', { rows: 0 }], ['sync']])]);
    sendMessages({ writable: false, write: (chunk) => writes.push(chunk) > 0 }, (messages) => messages.sync());
    assert.equal(writes.length, 1, 'a stream that is not writable was written to');
    assert.throws(() =>
      sendMessages(open, (messages) => {
        messages.sync();
        throw new Error('while building');
      }),
    );
    assert.equal(writes.length, 1, 'a submission that threw was written');
    // The scratch was given back: the next builder shares it again and starts empty.
    sendMessages(open, (messages) => messages.flush());
    assert.deepEqual(writes[1], FLUSH);
  });
});

describe('FrontendMessages on a real session', () => {
  const { pgm } = testManager({ poolSize: 1 });
  after(() => pgm.close());

  const serverPort = Number(new URL(DATABASE_URL).port || 5432);
  /** Socket writes while `run` runs, of sockets to the test server (its port). */
  async function writesDuring(run: () => Promise<unknown>): Promise<Buffer[]> {
    const writes: Buffer[] = [];
    const original = Socket.prototype.write;
    Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      if (this.remotePort === serverPort) writes.push(Buffer.from(chunk as Buffer));
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof original;
    try {
      await run();
    } finally {
      Socket.prototype.write = original;
    }
    return writes;
  }

  it('sends a batch of five prepared statements in one write, and a statement with values in one write', async () => {
    const statements = Array.from({ length: 5 }, (_, index) => [`SELECT $1::int + ${index} AS n`, [index]] as const);
    // First run: parsed and described. Second run: Bind/Execute only, still one write.
    await lastValueFrom(pgm.batch(statements).pipe(toArray()));
    const batchWrites = await writesDuring(() => lastValueFrom(pgm.batch(statements).pipe(toArray())));
    assert.equal(batchWrites.length, 1, `the batch took ${batchWrites.length} writes`);
    // Five Bind/Execute pairs and one Sync, by their type bytes.
    const types: string[] = [];
    for (let at = 0; at < batchWrites[0].length; at += 1 + batchWrites[0].readInt32BE(at + 1)) types.push(String.fromCharCode(batchWrites[0][at]));
    assert.equal(types.join(''), 'BEBEBEBEBES');
    const statementWrites = await writesDuring(() => lastValueFrom(pgm.query('SELECT $1::text AS t', ['a']).pipe(toArray())));
    assert.equal(statementWrites.length, 1, `the statement took ${statementWrites.length} writes`);
  });

  it('sends 65535 values in a statement and in a batch, refuses 65536 before sending, and the session goes on', async () => {
    const placeholders = (count: number): string => `SELECT cardinality(ARRAY[${Array.from({ length: count }, (_, index) => `$${index + 1}::int`).join(',')}]) AS n`;
    const values = (count: number): number[] => Array.from({ length: count }, (_, index) => index);
    const [row] = await lastValueFrom(pgm.query<{ n: number }>(placeholders(65_535), values(65_535)).pipe(toArray()));
    assert.equal(row.n, 65_535);
    const [result] = await lastValueFrom(pgm.batch([[placeholders(40_000), values(40_000)]]).pipe(toArray()));
    assert.equal(result.rows[0].n, 40_000);
    await assert.rejects(lastValueFrom(pgm.query(placeholders(65_536), values(65_536))), (error: unknown) => {
      assert.ok(error instanceof QueryError, String(error));
      assert.match(error.message, /65536 values were given, and the protocol carries at most 65535 per statement/);
      return true;
    });
    await assert.rejects(lastValueFrom(pgm.batch([['SELECT 1', []], [placeholders(65_536), values(65_536)]])), /statement 2 of the batch could not be sent: 65536 values/);
    const [after] = await lastValueFrom(pgm.query<{ ok: number }>('SELECT $1::int AS ok', [1]).pipe(toArray()));
    assert.equal(after.ok, 1);
  });

  it('round-trips large and unicode values through batch() and query()', async () => {
    const large = Buffer.alloc(2 * 1024 * 1024 + 3, 0xab);
    const text = `${UNICODE} `.repeat(30_000);
    const name = uniqueName('fm');
    const results = await lastValueFrom(
      pgm
        .batch([
          [`SELECT length($1::bytea) AS bytes, md5($1::bytea) AS digest, $2::text = $3::text AS same, '${name}' AS name`, [large, text, text]],
          ['SELECT $1::text AS t', [UNICODE]],
        ])
        .pipe(toArray()),
    );
    const [first, second] = results;
    assert.equal(first.rows[0].bytes, large.length);
    assert.equal(first.rows[0].digest, createHash('md5').update(large).digest('hex'));
    assert.equal(first.rows[0].same, true);
    assert.equal(second.rows[0].t, UNICODE);
    const [row] = await lastValueFrom(pgm.query<{ t: string }>('SELECT $1::text AS t', [text]).pipe(toArray()));
    assert.equal(row.t, text);
  });
});
