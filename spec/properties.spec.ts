// Property tests (fast-check) on odd input: parameters of every JS type and hostile strings are
// bound exactly or rejected with a typed error; OrderedRow round-trips; channel names and
// configuration validation never throw anything but typed errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { ConfigurationError, PgManager, RowShape, RxpgError, type ConnOptions } from '../src/index.js';
import { checkChannel, quoteChannel } from '../src/postgres/listen/quote-channel.js';
import { testManager } from './support/database.js';

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

  it('binds every JavaScript type or rejects it with a typed error, and the pool stays healthy', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const values: unknown[] = [
      0, -1, 1.5, Number.NaN, Infinity, -Infinity, 2n ** 70n, true, false, null, undefined, '', 'é', new Date(0), new Date(Number.NaN),
      Buffer.from([0, 1, 255]), [1, 2, 3], [['a', 'b'], ['c', 'd']], { a: 1 }, circular, Symbol('s'), () => 1, new Map([[1, 2]]),
    ];
    for (const value of values) {
      const outcome = await firstValueFrom(pgm.query('SELECT $1::text AS v', [value])).then(
        () => 'ok',
        (error: unknown) => (error instanceof RxpgError ? error.reason : `untyped: ${String(error)}`),
      );
      assert.ok(!outcome.startsWith('untyped'), `${String(typeof value)}: ${outcome}`);
    }
    const wrongCount = await lastValueFrom(pgm.query('SELECT $1::int + $2::int', [1])).catch((error: unknown) => error);
    assert.ok(wrongCount instanceof RxpgError);
    assert.equal((await firstValueFrom(pgm.query('SELECT 2 AS two'))).two, 2);
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
