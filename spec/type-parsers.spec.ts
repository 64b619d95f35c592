// A parser registered with pg after a session has cached a result shape still wins on that
// session: what the README promises.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom } from 'rxjs';
import pg from 'pg';
import { testManager } from './support/database.js';

describe('parsers registered with pg.types', () => {
  for (const [type, oid, sql] of [
    ['int4', 23, 'SELECT 41 + $1::int4 AS v, pg_backend_pid()::text AS pid'],
    ['timestamptz (rxpg’s fast path)', 1184, "SELECT '2024-02-29 12:34:56.789+02'::timestamptz + make_interval(secs => $1::int) AS v, pg_backend_pid()::text AS pid"],
  ] as const) {
    it(`win on a session that already read ${type} columns, and the default returns when unregistered`, async () => {
      const { pgm } = testManager({ poolSize: 1 });
      const original = pg.types.getTypeParser(oid, 'text');
      const run = () => firstValueFrom(pgm.query<{ v: unknown; pid: string }>(sql, [1]));
      try {
        const before = await run();
        assert.notEqual(typeof before.v, 'string', 'the default parser ran first (the shape is now cached)');
        pg.types.setTypeParser(oid, (text: string) => `custom:${text}`);
        const during = await run();
        assert.equal(during.pid, before.pid, 'the same session, so the same shape cache');
        assert.match(String(during.v), /^custom:/);
        pg.types.setTypeParser(oid, original);
        const after = await run();
        assert.equal(after.pid, before.pid);
        assert.deepEqual(after.v, before.v, 'the default parser again');
      } finally {
        pg.types.setTypeParser(oid, original);
        await pgm.close();
      }
    });
  }
});
