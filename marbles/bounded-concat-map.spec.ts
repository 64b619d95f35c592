import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { boundedConcatMap, DroppedValues, RxpgError } from '../src/index.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const show = (value: unknown): string => (value instanceof DroppedValues ? `dropped ${value.count}` : String(value));

describe('boundedConcatMap: a slow consumer of a hot source (marbles)', () => {
  it('processes one at a time while the buffer has room', () => {
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('  a-b-c-|');
      const work = cold('   ---x|');
      const result = source.pipe(boundedConcatMap((value) => work.pipe(map(() => value)), { bufferSize: 2, overflow: 'error' }));
      expectObservable(result).toBe('---a---b---c|');
      expectSubscriptions(work.subscriptions).toBe(['^---!', '----^---!', '--------^---!']);
    });
  });

  it("overflow: 'drop' drops the newest and counts them before the next result", () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('  abcde---|');
      const work = cold('   ----x|');
      const result = source.pipe(boundedConcatMap((value) => work.pipe(map(() => value)), { bufferSize: 1, overflow: 'drop' }), map(show));
      // a runs, b waits, c d e are dropped; b's turn starts with the count.
      expectObservable(result).toBe('----ad---b|', { a: 'a', d: 'dropped 3', b: 'b' });
    });
  });

  it("overflow: 'error' fails with reason overflow", () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('  abc-|');
      const work = cold('   ----x|');
      const result = source.pipe(boundedConcatMap((value) => work.pipe(map(() => value)), { bufferSize: 1, overflow: 'error' }));
      expectObservable(result).toBe('--#', undefined, new RxpgError('RXPG_OVERFLOW', 'overflow', "boundedConcatMap: more than 1 values waited for a slow consumer (overflow: 'error')."));
    });
  });
});
