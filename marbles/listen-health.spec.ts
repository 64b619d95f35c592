// The listen session's health check waits in the session's queue (one statement in flight)
// behind the LISTENs and UNLISTENs before it. A burst of those that outlasts healthCheckTimeout
// is a busy session, not a dead one; a session that stops answering is dead, busy or not.
// (Found under load: 10,000 subscribe/unsubscribe cycles in spec/listen.spec.ts queued 18,000
// round trips, and the health check declared the session dead and reconnected, with a gap.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import { PgManager, type ListenStatus } from '../src/index.js';
import { ScriptedDriver } from '../src/testing.js';

/**
 * A listen session checked every 10 frames with a 5-frame deadline; at frame 3, 20 cycles of
 * subscribe/unsubscribe on `churn` queue 40 one-frame statements. Returns the states the
 * session went through until it was closed at frame 80.
 */
function burst(driver: ScriptedDriver): string[] {
  const states: string[] = [];
  new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(({ cold, flush }) => {
    driver.on('SELECT 1', { frames: 1, rows: [[1]] });
    const pgm = new PgManager({ driver });
    pgm.createConnListen({ host: 'scripted', healthCheckInterval: 10, healthCheckTimeout: 5, reconnectDelay: 1000, reconnectJitter: false });
    pgm.listenStatus$().subscribe((status: ListenStatus) => {
      if (states.at(-1) !== status.state) states.push(status.state);
    });
    pgm.notifications('kept').subscribe();
    cold('---x').subscribe(() => {
      for (let cycle = 0; cycle < 20; cycle++) pgm.notifications('churn').subscribe().unsubscribe();
    });
    cold('-'.repeat(80) + 'x').subscribe(() => void pgm.close());
    flush();
  });
  return states;
}

describe('listen health check behind a queue of LISTEN/UNLISTEN (marbles, virtual time)', () => {
  it('a burst that outlasts healthCheckTimeout keeps the session: no reconnect, no gap', () => {
    const driver = new ScriptedDriver();
    const states = burst(driver);
    assert.deepEqual(states, ['idle', 'connecting', 'listening', 'closed']);
    const commands = driver.statements.filter((statement) => /^(UN)?LISTEN "churn"$/.test(statement.sql));
    // Positive control: the burst kept the session busy past the first check's deadline (the check at
    // about frame 11 would otherwise be answered by frame 17).
    assert.equal(commands.length, 40, 'the burst queued 40 statements');
    assert.ok(commands[commands.length - 1].at > 11 + 5 + 10, `the burst ran until frame ${commands[commands.length - 1].at}`);
    assert.ok(driver.statements.some((statement) => statement.sql === 'SELECT 1' && statement.at > commands[commands.length - 1].at), 'a health check ran after the burst');
  });

  it('a session that stops answering in the middle of the burst is still found dead', () => {
    const driver = new ScriptedDriver().on('UNLISTEN "churn"', { silent: true });
    const states = burst(driver);
    assert.deepEqual(states.slice(0, 4), ['idle', 'connecting', 'listening', 'reconnecting']);
  });
});
