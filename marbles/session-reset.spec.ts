// How the pool resets a session whose state a lease changed, in virtual time over the
// ScriptedDriver: the reset and initStatement run before the next lease's first statement, a
// session that changed nothing is leased again with nothing sent in between, and a reset that
// fails discards the session instead of pooling it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PgManager, type ReleaseEvent } from '../src/index.js';
import { SCRIPTED_RESET, ScriptedDriver } from '../src/testing.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

function run(driver: ScriptedDriver, initStatement?: string): { sent: string[]; releases: ReleaseEvent[] } {
  const releases: ReleaseEvent[] = [];
  scheduler().run(({ flush }) => {
    const pgm = new PgManager({ driver });
    pgm.createConn({ host: 'scripted', poolSize: 1, initStatement });
    pgm.events$.subscribe((event) => {
      // flush() runs virtual time on to the idle timeout, which closes the last session.
      if (event.type === 'release' && event.reason !== 'idle_timeout') releases.push(event);
    });
    concat(pgm.query('SELECT 1'), pgm.query('SET role x'), pgm.query('SELECT 2'), pgm.query('SELECT 3')).subscribe();
    flush();
  });
  return { sent: driver.statements.map((statement) => `${statement.processId}:${statement.sql}`), releases };
}

describe('session reset between leases (marbles, virtual time)', () => {
  it('resets a changed session and runs initStatement again before the next lease, and sends nothing after unchanged ones', () => {
    const driver = new ScriptedDriver().on('SET', { changesSession: true });
    const { sent, releases } = run(driver, 'INIT');
    assert.deepEqual(sent, ['1:INIT', '1:SELECT 1', '1:SET role x', `1:${SCRIPTED_RESET}`, '1:INIT', '1:SELECT 2', '1:SELECT 3']);
    assert.deepEqual(
      releases.map(({ reason, discarded, sessionChange }) => ({ reason, discarded, sessionChange })),
      [
        { reason: 'pooled', discarded: false, sessionChange: undefined },
        { reason: 'pooled', discarded: false, sessionChange: 'SET role x' },
        { reason: 'pooled', discarded: false, sessionChange: undefined },
        { reason: 'pooled', discarded: false, sessionChange: undefined },
      ],
    );
  });

  it('discards a session whose reset failed: the next lease gets a new one', () => {
    const driver = new ScriptedDriver().on('SET', { changesSession: true }).on(SCRIPTED_RESET, { error: { message: 'reset refused' } });
    const { sent, releases } = run(driver);
    assert.deepEqual(sent, ['1:SELECT 1', '1:SET role x', `1:${SCRIPTED_RESET}`, '2:SELECT 2', '2:SELECT 3']);
    assert.deepEqual(
      releases.map(({ reason, discarded }) => ({ reason, discarded })),
      [
        { reason: 'pooled', discarded: false },
        { reason: 'reset_failed', discarded: true },
        { reason: 'pooled', discarded: false },
        { reason: 'pooled', discarded: false },
      ],
    );
  });
});
