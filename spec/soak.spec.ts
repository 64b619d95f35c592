import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from '../scripts/soak-run.js';
import { DATABASE_URL } from './support/database.js';

describe('soak (short; `npm run soak` runs it for 60 s)', () => {
  it('keeps every promise under random unsubscribes and killed sessions', async () => {
    const result = await runSoak({ url: DATABASE_URL, seconds: Number(process.env.SOAK_TEST_SECONDS ?? 6) });
    assert.deepEqual(result.failures, [], JSON.stringify(result.figures));
    assert.ok(Number(result.figures.transfers) > 100, 'enough transfers were acknowledged to mean something');
    assert.ok(Number(result.figures.kills) > 0, 'sessions were killed');
  });
});
