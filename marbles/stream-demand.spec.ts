import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bufferCount, map, take, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PgManager } from '../src/index.js';
import { ScriptedDriver } from '../src/testing.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

function setup() {
  const driver = new ScriptedDriver();
  const pgm = new PgManager({ driver });
  pgm.createConn({ host: 'scripted', idleTimeout: 0 });
  // Six rows, two frames per fetch.
  driver.on(/.*/, { frames: 2, rows: [[1], [2], [3], [4], [5], [6]] });
  return { driver, pgm };
}

describe('stream demand (marbles, virtual time)', () => {
  it('stream(): a synchronous consumer gets a batch per fetch, the next fetch starting at once', () => {
    scheduler().run(({ expectObservable }) => {
      const { pgm } = setup();
      // connect 1 frame, then each fetch of 2 rows takes 2 frames; pairs show which rows came together.
      const pairs = pgm.stream('s', [], { batchSize: 2 }).pipe(map((row) => row.n), bufferCount(2), map((pair) => pair.join('+')));
      expectObservable(pairs).toBe('---a-b-(c|)', { a: '1+2', b: '3+4', c: '5+6' });
    });
  });

  it('streamBatches(): the next fetch starts only when the async stage has finished', () => {
    scheduler().run(({ expectObservable }) => {
      const { pgm } = setup();
      // Each stage takes 5 frames; the fetch after it takes 2 more.
      const done = pgm.streamBatches('s', [], (rows) => timer(5).pipe(map(() => rows.map((row) => row.n).join('+'))), { batchSize: 2 });
      expectObservable(done).toBe('--------a------b------(c|)', { a: '1+2', b: '3+4', c: '5+6' });
    });
  });

  it('take(n) ends it: no fetch after the batch it stopped in', () => {
    scheduler().run(({ expectObservable, flush }) => {
      const { driver, pgm } = setup();
      const taken = pgm.stream('s', [], { batchSize: 2 }).pipe(map((row) => row.n), take(3), bufferCount(2), map((rows) => rows.join('+')));
      expectObservable(taken).toBe('---a-(b|)', { a: '1+2', b: '3' });
      flush();
      assert.equal(driver.connections[0].fetches, 1, 'the third batch was never asked for');
      assert.deepEqual(pgm.poolState(), { size: 10, total: 1, inUse: 0, idle: 1, waiting: 0 });
    });
  });
});
