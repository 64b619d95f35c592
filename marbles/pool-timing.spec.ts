import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, map, of, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PgManager, RxpgError } from '../src/index.js';
import { ScriptedDriver } from '../src/testing.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const reasonOf = (error: unknown): string => (error instanceof RxpgError ? error.reason : String(error));

function setup(options: { poolSize?: number; acquireTimeout?: number; idleTimeout?: number } = {}) {
  const driver = new ScriptedDriver();
  const pgm = new PgManager({ driver, cancelGraceMillis: 5 });
  pgm.createConn({ host: 'scripted', idleTimeout: 0, ...options });
  return { driver, pgm };
}

describe('pool timing (marbles, virtual time)', () => {
  it('a query: connect (1 frame), run (2 frames), rows, complete; the lease is back at once', () => {
    scheduler().run(({ expectObservable, flush }) => {
      const { driver, pgm } = setup();
      driver.on(/.*/, { frames: 2, rows: [[1], [2]] });
      expectObservable(pgm.query('SELECT n').pipe(map((row) => row.n))).toBe('---(ab|)', { a: 1, b: 2 });
      flush();
      assert.deepEqual(pgm.poolState(), { size: 10, total: 1, inUse: 0, idle: 1, waiting: 0 });
    });
  });

  it('queues lease requests FIFO on a pool of one', () => {
    scheduler().run(({ expectObservable }) => {
      const { driver, pgm } = setup({ poolSize: 1 });
      driver.on(/.*/, (sql) => ({ frames: 2, rows: [[sql]] }));
      expectObservable(pgm.query('a').pipe(map((row) => row.n))).toBe('---(a|)', { a: 'a' });
      expectObservable(pgm.query('b').pipe(map((row) => row.n))).toBe('-----(b|)', { b: 'b' });
      expectObservable(pgm.query('c').pipe(map((row) => row.n))).toBe('-------(c|)', { c: 'c' });
    });
  });

  it('fails a waiting request after acquireTimeout, reporting which limit fired', () => {
    scheduler().run(({ expectObservable }) => {
      const { driver, pgm } = setup({ poolSize: 1, acquireTimeout: 5 });
      driver.on(/.*/, { frames: 10 });
      expectObservable(pgm.query('long')).toBe('-----------|');
      expectObservable(pgm.query('waits').pipe(catchError((error: unknown) => of(reasonOf(error))))).toBe('-----(t|)', { t: 'pool_timeout' });
    });
  });

  it('an unsubscribe while waiting leaves the queue; one while running cancels and returns the lease', () => {
    scheduler().run(({ cold, expectObservable, flush }) => {
      const { driver, pgm } = setup({ poolSize: 1 });
      driver.on(/.*/, { frames: 10 });
      expectObservable(pgm.query('runs'), '^--!').toBe('---');
      expectObservable(pgm.query('waits'), '^-!').toBe('--');
      const after = cold('-----x').pipe(map(() => pgm.poolState()));
      expectObservable(after).toBe('-----x', { x: { size: 1, total: 1, inUse: 0, idle: 1, waiting: 0 } });
      flush();
      assert.equal(driver.connections[0].cancels, 1, 'the running statement was cancelled');
      assert.deepEqual(driver.sent, ['runs'], 'the withdrawn request never reached the server');
    });
  });

  it('destroys a session whose statement ignores the cancel for cancelGraceMillis', () => {
    scheduler().run(({ expectObservable, flush }) => {
      const { driver, pgm } = setup({ poolSize: 1 });
      driver.on(/.*/, { frames: 100, ignoresCancel: true });
      expectObservable(pgm.query('stubborn'), '^-!').toBe('--');
      flush();
      assert.equal(driver.connections[0].isBroken, true);
      assert.equal(pgm.poolState().total, 0, 'discarded, not pooled busy');
    });
  });

  it('rolls back a transaction on unsubscribe after cancelling its running statement', () => {
    scheduler().run(({ expectObservable, flush }) => {
      const { driver, pgm } = setup({ poolSize: 1 });
      driver.on(/.*/, (sql) => ({ frames: sql === 'work' ? 10 : 1 }));
      expectObservable(pgm.transaction((tx) => tx.query('work')), '^----!').toBe('-----');
      flush();
      assert.deepEqual(driver.sent, ['BEGIN', 'work', 'ROLLBACK']);
      assert.equal(pgm.poolState().idle, 1);
    });
  });

  it('backs off between connect attempts when the server refuses: 50, then 100 frames', () => {
    scheduler().run(({ expectObservable, flush }) => {
      const driver = new ScriptedDriver().refuseConnections(3);
      const pgm = new PgManager({ driver });
      pgm.createConn({ host: 'scripted', idleTimeout: 0, acquireTimeout: 1000, poolSize: 1 });
      const reason = catchError((error: unknown) => of(reasonOf(error)));
      // Each connect takes 1 frame; after a failure the next attempt waits 50, then 100 frames:
      // failures at frames 1, 1 + 50 + 1 = 52 and 52 + 100 + 1 = 153.
      expectObservable(pgm.query('a').pipe(reason)).toBe('-(c|)', { c: 'connection' });
      expectObservable(pgm.query('b').pipe(reason)).toBe(`${'-'.repeat(52)}(c|)`, { c: 'connection' });
      expectObservable(pgm.query('c').pipe(reason)).toBe(`${'-'.repeat(153)}(c|)`, { c: 'connection' });
      flush();
      assert.equal(driver.connections.length, 0);
    });
  });

  it('sends no cancel when the statement ended in the same chunk as the row that ended the subscription', () => {
    scheduler().run(({ expectObservable, flush }) => {
      const driver = new ScriptedDriver().on(/.*/, { frames: 2, rows: [[1], [2], [3]] });
      const pgm = new PgManager({ driver });
      pgm.createConn({ host: 'scripted', idleTimeout: 0, poolSize: 1 });
      // take(1), as firstValueFrom does: the other rows and the completion arrive with the first.
      expectObservable(pgm.query('s').pipe(take(1), map((row) => row.n))).toBe('---(a|)', { a: 1 });
      flush();
      assert.equal(driver.connections[0].cancels, 0, 'a CancelRequest per firstValueFrom would cost a TCP connection each');
      assert.equal(pgm.poolState().idle, 1);
    });
  });
  it('an idle session lets the process exit, a leased one does not; its idle timer still runs in virtual time', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { driver, pgm } = setup({ poolSize: 1, idleTimeout: 100 });
      driver.on(/.*/, { frames: 2, rows: [[1]] });
      const seen: string[] = [];
      pgm.events$.subscribe((event) => {
        if (event.type === 'release' && event.discarded) seen.push(`${event.reason}@${testScheduler.now()}`);
      });
      const states: boolean[] = [];
      // Leased at 1 (after connecting), running until 3, idle from 3: closed at 3 + 100 = 103.
      expectObservable(pgm.query('a').pipe(map((row) => row.n))).toBe('---(a|)', { a: 1 });
      cold('--x').subscribe(() => states.push(driver.connections[0].keepsProcessAlive));
      cold('----x').subscribe(() => states.push(driver.connections[0].keepsProcessAlive));
      expectObservable(cold(`${'-'.repeat(102)}x`).pipe(map(() => pgm.poolState().idle))).toBe(`${'-'.repeat(102)}i`, { i: 1 });
      expectObservable(cold(`${'-'.repeat(104)}x`).pipe(map(() => pgm.poolState().idle))).toBe(`${'-'.repeat(104)}i`, { i: 0 });
      flush();
      assert.deepEqual(states, [true, false], 'kept alive while leased (frame 2), not while idle (frame 4)');
      assert.deepEqual(seen, ['idle_timeout@103'], 'closed exactly idleTimeout after it became idle');
    });
  });
});
