// A session lost between the transaction's last statement and its COMMIT: the server rolled the
// transaction back, so the error says so and is retryable, and COMMIT is never sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, defer, EMPTY } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ConnectionError, PgManager } from '../src/index.js';
import { ScriptedDriver } from '../src/testing.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

describe('a transaction whose session is lost before COMMIT (marbles, virtual time)', () => {
  it('fails at once with a retryable ConnectionError, sends no COMMIT, and discards the session', () => {
    scheduler().run(({ flush }) => {
      const driver = new ScriptedDriver();
      const pgm = new PgManager({ driver });
      pgm.createConn({ host: 'scripted' });
      let error: unknown;
      let at = -1;
      pgm
        .transaction((tx) =>
          concat(
            tx.query('INSERT INTO t VALUES (1)'),
            // After the last statement and before COMMIT: the server ends the session.
            defer(() => {
              driver.kill(tx.processId);
              return EMPTY;
            }),
          ),
        )
        .subscribe({
          error: (caught: unknown) => {
            error = caught;
            at = driver.statements.length;
          },
        });
      flush();
      assert.ok(error instanceof ConnectionError, String(error));
      assert.equal(error.reason, 'connection');
      assert.equal(error.isRetryable, true);
      assert.match(error.message, /lost before COMMIT was sent; the server rolled the transaction back/);
      assert.deepEqual(driver.sent, ['BEGIN', 'INSERT INTO t VALUES (1)'], 'no COMMIT was sent');
      assert.equal(at, 2);
      assert.equal(pgm.poolState().total, 0, 'the dead session was discarded');
    });
  });

  it('control: the same transaction with its session alive commits', () => {
    scheduler().run(({ flush }) => {
      const driver = new ScriptedDriver();
      const pgm = new PgManager({ driver });
      pgm.createConn({ host: 'scripted' });
      let completed = false;
      pgm.transaction((tx) => tx.query('INSERT INTO t VALUES (1)')).subscribe({ complete: () => (completed = true) });
      flush();
      assert.equal(completed, true);
      assert.deepEqual(driver.sent, ['BEGIN', 'INSERT INTO t VALUES (1)', 'COMMIT']);
    });
  });
});
