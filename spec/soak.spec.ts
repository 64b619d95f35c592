import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from '../scripts/soak-run.js';
import { DATABASE_URL } from './support/database.js';

describe('soak (short; `npm run soak` runs it for 60 s)', () => {
  it('keeps every promise under random unsubscribes and killed sessions', async () => {
    // 6 s give 300-350 transfers on a quiet machine but 39-67 at a load average of 13-15: a
    // loaded machine runs on (up to 30 s) until there are enough for the checks to mean something.
    const seconds = Number(process.env.SOAK_TEST_SECONDS ?? 6);
    const result = await runSoak({ url: DATABASE_URL, seconds, minTransfers: 101, maxSeconds: Math.max(seconds, 30) });
    assert.deepEqual(result.failures, [], JSON.stringify(result.figures));
    assert.ok(Number(result.figures.transfers) > 100, `enough transfers were acknowledged to mean something (${JSON.stringify(result.figures)})`);
    assert.ok(Number(result.figures.kills) > 0, 'sessions were killed');
  });
});
