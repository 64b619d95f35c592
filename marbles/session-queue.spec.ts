// A session that dies with a long queue behind its running statement fails every queued one,
// each with the typed error, without the call stack growing with the queue (the driver fails a
// statement on a dead session synchronously, which used to recurse through the queue's pump).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, ignoreElements, map, merge, tap, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ConnectionError, PgManager } from '../src/index.js';
import { ScriptedDriver } from '../src/testing.js';

describe('a session lost with a long statement queue (marbles, virtual time)', () => {
  it('fails 5,000 queued statements with ConnectionError, one stack frame deep each', () => {
    const queued = 5_000;
    const outcomes = new Map<string, number>();
    new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(({ flush }) => {
      const driver = new ScriptedDriver().on('SLOW', { frames: 10 });
      const pgm = new PgManager({ driver });
      pgm.createConn({ host: 'scripted', poolSize: 1 });
      pgm
        .connection(undefined, (conn) =>
          merge(
            conn.query('SLOW').pipe(
              map(() => 'row'),
              catchError((error: unknown) => [error instanceof ConnectionError ? 'ConnectionError' : String(error)]),
            ),
            ...Array.from({ length: queued }, () =>
              conn.query('SELECT 1').pipe(
                map(() => 'row'),
                catchError((error: unknown) => [error instanceof ConnectionError ? 'ConnectionError' : `${(error as Error).name}: ${(error as Error).message}`]),
              ),
            ),
            // The session dies while SLOW runs and every other statement waits in its queue.
            timer(5).pipe(
              tap(() => driver.kill(conn.processId)),
              ignoreElements(),
            ),
          ),
        )
        .subscribe({ next: (outcome) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1), error: (error: unknown) => outcomes.set(`scope: ${String(error)}`, 1) });
      flush();
    });
    assert.deepEqual([...outcomes], [['ConnectionError', queued + 1]]);
  });
});
