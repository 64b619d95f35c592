// Property tests (fast-check) on odd input: parameters of every JS type and hostile strings are
// bound exactly or rejected with a typed error; OrderedRow round-trips; channel names and
// configuration validation never throw anything but typed errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { defer, firstValueFrom, lastValueFrom } from 'rxjs';
import { ConfigurationError, PgManager, RowShape, RxpgError, type ConnOptions } from '../src/index.js';
import { checkChannel, quoteChannel } from '../src/postgres/listen/quote-channel.js';
import pg from 'pg';
import { DATABASE_URL, testManager } from './support/database.js';

describe('properties', () => {
  it('binds any string exactly, or rejects it with a typed error (NUL, lone surrogates, emoji, huge)', async () => {
    const { pgm } = testManager({ poolSize: 2 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 50 }), fc.constant('x'.repeat(200_000))), async (text) => {
        const outcome = await firstValueFrom(pgm.query<{ s: string }>('SELECT $1::text AS s', [text])).then(
          (row) => ({ ok: true as const, value: row.s }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        if (outcome.ok) {
          // Postgres stores valid UTF-8 only: a lone surrogate comes back as U+FFFD from Node's encoder.
          assert.equal(outcome.value, Buffer.from(text, 'utf8').toString('utf8'));
        } else {
          assert.ok(outcome.error instanceof RxpgError, `untyped: ${String(outcome.error)}`);
          assert.ok(text.includes('\u0000'), `rejected without a NUL: ${String(outcome.error)}`);
        }
      }),
      { numRuns: 150 },
    );
    assert.equal((await firstValueFrom(pgm.query('SELECT 1 AS ok'))).ok, 1, 'the pool is healthy after all that');
    await pgm.close();
  });

  it('binds every JavaScript type as pg does, round-trips it through its own type, or rejects it with a typed error', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    // The oracle: pg's own client, given the same value. rxpg promises to send what pg sends.
    const connectOracle = async (): Promise<pg.Client> => {
      const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'rxpg_test_oracle' });
      client.on('error', () => {});
      await client.connect();
      return client;
    };
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const looped = { toPostgres: (): unknown => looped };
    const noNul = (text: string) => !text.includes('\u0000');
    // Each value with the cast that reads it back as itself, and what that gives in JavaScript.
    type Case = { value: unknown; cast?: string; expected?: unknown };
    const typed: fc.Arbitrary<Case> = fc.oneof(
      fc.double().map((value) => ({ value, cast: 'float8', expected: Object.is(value, -0) ? 0 : value })),
      fc.integer().map((value) => ({ value, cast: 'int4', expected: Object.is(value, -0) ? 0 : value })),
      fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map((value) => ({ value, cast: 'numeric', expected: value.toString() })),
      fc.boolean().map((value) => ({ value, cast: 'bool', expected: value })),
      fc.constantFrom(null, undefined).map((value) => ({ value, cast: 'int4', expected: null })),
      fc.constantFrom<unknown>(undefined, Symbol('t'), () => 2, new Date(Number.NaN), [1, undefined]).map((value) => ({ value })),
      fc.string({ unit: 'grapheme', maxLength: 40 }).filter(noNul).map((value) => ({ value, cast: 'text', expected: value })),
      fc.date({ min: new Date('0100-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((value) => ({ value, cast: 'timestamptz', expected: value })),
      fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ value: Buffer.from(bytes), cast: 'bytea', expected: Buffer.from(bytes) })),
      fc.array(fc.option(fc.integer(), { nil: null }), { maxLength: 10 }).map((value) => ({ value, cast: 'int4[]', expected: value })),
      fc.array(fc.string({ unit: 'grapheme', maxLength: 10 }).filter(noNul), { maxLength: 6 }).map((value) => ({ value, cast: 'text[]', expected: value })),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ noUnicodeString: true, maxDepth: 2 })).filter((value) => noNul(JSON.stringify(value))).map((value) => ({ value, cast: 'jsonb', expected: JSON.parse(JSON.stringify(value)) })),
      fc.string({ maxLength: 20 }).filter(noNul).map((text) => ({ value: { toPostgres: () => text }, cast: 'text', expected: text })),
    );
    // Values with no type of their own: only what pg would send as text is checked.
    const odd: fc.Arbitrary<Case> = fc.constantFrom<unknown>(
      Number.NaN, Infinity, -Infinity, new Date(Number.NaN), [['a', 'b'], ['c', 'd']], [[1, null], [3, 4]], circular, looped,
      Symbol('s'), () => 1, new Map([[1, 2]]), new Set([1]), new Uint16Array([1, 2]), { a: undefined }, '\u0000 nul',
    ).map((value) => ({ value }));
    const asText = (run: () => Promise<{ v: unknown }>) => run().then((row) => ({ ok: true as const, text: row.v }), (error: unknown) => ({ ok: false as const, error }));
    // rxpg's own rule, stricter than pg's (which binds undefined as NULL and sends a symbol's or a
    // function's source text): refused at once, on every backend, with a ConfigurationError.
    const unbindable = (candidate: unknown): boolean =>
      candidate === undefined ||
      typeof candidate === 'symbol' ||
      typeof candidate === 'function' ||
      (candidate instanceof Date && Number.isNaN(candidate.getTime())) ||
      (Array.isArray(candidate) && candidate.some(unbindable));
    await fc.assert(
      fc.asyncProperty(fc.oneof(typed, odd), async ({ value, cast, expected }) => {
        const sent = await asText(() => firstValueFrom(defer(() => pgm.query<{ v: unknown }>('SELECT $1::text AS v', [value]))));
        if (unbindable(value)) {
          assert.ok(!sent.ok && sent.error instanceof ConfigurationError, `rxpg refuses ${String(typeof value)} by its own rule, got ${sent.ok ? 'a value' : String(sent.error)}`);
          return;
        }
        // A client of its own per value: pg before 8.21 leaves a client whose parameter failed to
        // serialise hanging on its next query.
        const oracle = await connectOracle();
        const reference = await asText(async () => (await oracle.query<{ v: unknown }>('SELECT $1::text AS v', [value])).rows[0]);
        if (reference.ok) await oracle.end();
        else (oracle as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        if (reference.ok) {
          assert.ok(sent.ok, `pg sends ${String(reference.text)}, rxpg failed: ${sent.ok ? '' : String(sent.error)}`);
          assert.equal(sent.text, reference.text, 'the text the server received is the text pg sends');
        } else {
          assert.ok(!sent.ok && sent.error instanceof RxpgError, `pg rejects it (${String(reference.error)}); rxpg must reject it with a typed error, got ${sent.ok ? 'a value' : String(sent.error)}`);
        }
        if (cast !== undefined) {
          const row = await firstValueFrom(pgm.query<{ v: unknown }>(`SELECT $1::${cast} AS v`, [value]));
          if (expected instanceof Date) assert.equal((row.v as Date).getTime(), expected.getTime(), `${cast}: ${expected.toISOString()}`);
          else assert.deepEqual(row.v, expected, `${cast} round trip`);
        }
      }),
      { numRuns: 300, examples: [[{ value: 2n ** 70n, cast: 'numeric', expected: (2n ** 70n).toString() }], [{ value: new Date(0), cast: 'timestamptz', expected: new Date(0) }], [{ value: -0, cast: 'float8', expected: 0 }]] },
    );
    const wrongCount = await lastValueFrom(pgm.query('SELECT $1::int + $2::int', [1])).catch((error: unknown) => error);
    assert.ok(wrongCount instanceof RxpgError);
    assert.equal((await firstValueFrom(pgm.query('SELECT 2 AS two'))).two, 2, 'the pool is healthy after all that');
    await pgm.close();
  });

  it('round-trips any OrderedRow through toArray, toObject and entries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string(), fc.constant(null))), { maxLength: 12 }), (pairs) => {
        const shape = new RowShape(pairs.map(([name]) => ({ name, typeOid: 0, tableOid: 0, columnNumber: 0 })));
        const row = shape.row(pairs.map(([, value]) => value));
        assert.deepEqual(row.toArray(), pairs.map(([, value]) => value));
        assert.deepEqual(row.entries(), pairs);
        const object = row.toObject() as Record<string, unknown>;
        for (const [name] of pairs) assert.equal(object[name], row.get(name), 'toObject keeps the first of duplicates, as get does');
        assert.deepEqual(JSON.parse(JSON.stringify(row)), JSON.parse(JSON.stringify(object)));
      }),
    );
  });

  it('quotes any valid channel name reversibly, and rejects invalid ones with a typed error', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (channel) => {
        try {
          checkChannel(channel);
        } catch (error) {
          assert.ok(error instanceof ConfigurationError);
          return;
        }
        const quoted = quoteChannel(channel);
        assert.ok(quoted.startsWith('"') && quoted.endsWith('"'));
        assert.equal(quoted.slice(1, -1).replace(/""/g, '"'), channel);
      }),
    );
  });

  it('never throws anything but a ConfigurationError for random createConn options', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('host', 'port', 'poolSize', 'isolationLevel', 'dsn', 'connectionString', 'bogus', 'connectTimeout', 'sslmode', 'typeParsers'),
          fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object()),
        ),
        (options) => {
          try {
            new PgManager().createConn(options as ConnOptions);
          } catch (error) {
            assert.ok(error instanceof ConfigurationError, `${String(error)} for ${JSON.stringify(options)}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
