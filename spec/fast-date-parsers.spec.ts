import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom } from 'rxjs';
import pg from 'pg';
import { fastParserFor } from '../src/postgres/fast-date-parsers.js';
import { testManager } from './support/database.js';

const same = (a: unknown, b: unknown): boolean =>
  a instanceof Date && b instanceof Date ? Object.is(a.getTime(), b.getTime()) : Object.is(a, b) || String(a) === String(b);

describe('fast timestamp parsers give exactly what pg gives', () => {
  const cases = [
    '2025-01-01 00:00:01+00', '2025-01-01 00:00:01.123456+00', '1999-12-31 23:59:59.999999-08', '2025-06-01 12:34:56.5+05:30',
    '1900-01-01 00:00:00+00:19:32', '0044-03-15 12:00:00+00 BC', '0099-01-01 00:00:00+00', 'infinity', '-infinity',
    '12345-01-01 00:00:00+00', '2025-02-03 04:05:06.007+00', '0100-02-29 10:00:00-03:30',
  ];

  for (const oid of [1184, 1114]) {
    it(`oid ${oid}: fixed cases and 20,000 random timestamps`, () => {
      const reference = pg.types.getTypeParser(oid, 'text') as (text: string) => unknown;
      const fast = fastParserFor(oid);
      assert.ok(fast, 'the fast parser is used while pg has its default');
      const inputs = oid === 1184 ? cases : cases.map((text) => text.replace(/[+-]\d\d(:\d\d){0,2}( BC)?$/, '$2'));
      let seed = 7;
      const next = (limit: number): number => (seed = (seed * 48271) % 2147483647) % limit;
      for (let index = 0; index < 20_000; index++) {
        const pad = (n: number, width = 2) => String(n).padStart(width, '0');
        const fraction = next(3) === 0 ? '' : `.${String(next(1_000_000)).padStart(6, '0').slice(0, 1 + next(6))}`;
        const zone = oid === 1114 ? '' : ['+00', '-08', '+05:30', '-09:30:15', '+14'][next(5)];
        inputs.push(`${pad(100 + next(9900), 4)}-${pad(1 + next(12))}-${pad(1 + next(28))} ${pad(next(24))}:${pad(next(60))}:${pad(next(60))}${fraction}${zone}`);
      }
      for (const input of inputs) assert.ok(same(fast(input), reference(input)), `${input}: ${String(fast(input))} vs ${String(reference(input))}`);
    });
  }

  it('steps aside when pg’s parser was replaced', () => {
    const original = pg.types.getTypeParser(1184, 'text');
    pg.types.setTypeParser(1184, (text: string) => `custom ${text}`);
    try {
      assert.equal(fastParserFor(1184), undefined);
    } finally {
      pg.types.setTypeParser(1184, original);
    }
    assert.ok(fastParserFor(1184));
  });

  it('round-trips through the server in several time zones', async () => {
    const { pgm } = testManager({ initStatement: "SET TIME ZONE 'Asia/Kolkata'" });
    const row = await firstValueFrom(
      pgm.query<{ a: Date; b: Date; c: Date }>("SELECT timestamptz '2024-02-29 23:59:59.123456+00' AS a, timestamptz '1901-12-13 20:45:52+00' AS b, timestamp '2024-07-01 12:00:00.5' AS c"),
    );
    assert.equal(row.a.toISOString(), '2024-02-29T23:59:59.123Z');
    assert.equal(row.b.toISOString(), '1901-12-13T20:45:52.000Z');
    assert.equal(row.c.getTime(), new Date(2024, 6, 1, 12, 0, 0, 500).getTime());
    await pgm.close();
  });
});
