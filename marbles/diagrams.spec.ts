// Each diagram in marbles/diagrams/ is checked here against the real code over the scripted
// driver, in virtual time: the pictures in the docs are tested behaviour.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, filter, map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ListenGap, PgManager, StatementTimeoutError, type ListenStatus } from '../src/index.js';
import { ScriptedDriver } from '../src/testing.js';
import { channelRefcountDiagram } from './diagrams/channel-refcount.js';
import { marblesOf } from './diagrams/diagram.js';
import { queryDiagram } from './diagrams/query.js';
import { reconnectGapDiagram } from './diagrams/reconnect-gap.js';
import { streamDemandDiagram } from './diagrams/stream-demand.js';
import { timeoutDiagram } from './diagrams/timeout.js';
import { transactionRollbackDiagram } from './diagrams/transaction-rollback.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

function manager(driver: ScriptedDriver, options: { poolSize?: number } = {}) {
  const pgm = new PgManager({ driver, cancelGraceMillis: 50, clientTimeoutGraceMillis: 2 });
  pgm.createConn({ host: 'scripted', idleTimeout: 0, ...options });
  return pgm;
}

const lane = (diagram: { lanes: readonly { label: string; marbles: string }[] }, index: number): string => diagram.lanes[index].marbles;

describe('marble diagrams are tested behaviour', () => {
  it(queryDiagram.title, () => {
    scheduler().run(({ expectObservable }) => {
      const driver = new ScriptedDriver().on('SELECT n', { frames: 2, rows: [[1], [2]] });
      const pgm = manager(driver);
      const pool = pgm.events$.pipe(filter((event) => event.type === 'acquire' || event.type === 'release'), map((event) => event.type[0]));
      expectObservable(pool).toBe(lane(queryDiagram, 0));
      expectObservable(pgm.query('SELECT n').pipe(map((row) => row.n))).toBe(lane(queryDiagram, 1), { a: 1, b: 2 });
    });
  });

  it(streamDemandDiagram.title, () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const driver = new ScriptedDriver().on(/.*/, { frames: 2, rows: [[1], [2], [3], [4], [5], [6]] });
      const pgm = manager(driver);
      const stage = cold('-----(x|)');
      const output = pgm.streamBatches('s', [], (rows) => stage.pipe(map(() => rows.map((row) => row.n).join('+'))), { batchSize: 2 });
      expectObservable(output).toBe(lane(streamDemandDiagram, 3), { a: '1+2', b: '3+4', c: '5+6' });
      expectSubscriptions(stage.subscriptions).toBe([lane(streamDemandDiagram, 0), lane(streamDemandDiagram, 1), lane(streamDemandDiagram, 2)]);
    });
  });

  it(timeoutDiagram.title, () => {
    scheduler().run(({ expectObservable }) => {
      const driver = new ScriptedDriver().on('slow', { frames: 20 }).on('stalled', { frames: 20, silent: true });
      const pgm = manager(driver, { poolSize: 2 });
      const limitOf = catchError((error: unknown) => of(error instanceof StatementTimeoutError ? error.limit : String(error)));
      expectObservable(pgm.query('slow', [], { timeout: 5 }).pipe(limitOf)).toBe(lane(timeoutDiagram, 0).replace('#', '(e|)'), { e: 'server' });
      expectObservable(pgm.query('stalled', [], { timeout: 5 }).pipe(limitOf)).toBe(lane(timeoutDiagram, 1).replace('#', '(e|)'), { e: 'client' });
    });
  });

  it(transactionRollbackDiagram.title, () => {
    scheduler().run(({ expectObservable, flush }) => {
      const driver = new ScriptedDriver().on('work', { frames: 10 });
      const pgm = manager(driver, { poolSize: 1 });
      const subscription = lane(transactionRollbackDiagram, 0);
      expectObservable(pgm.transaction((tx) => tx.query('work')), subscription).toBe('-'.repeat(subscription.length - 1));
      flush();
      const letters: Record<string, string> = { BEGIN: 'b', work: 'w', ROLLBACK: 'r' };
      assert.equal(marblesOf(driver.statements.map((statement) => ({ at: statement.at, letter: letters[statement.sql] ?? '?' }))), lane(transactionRollbackDiagram, 1));
      assert.equal(driver.connections[0].cancels, 1);
      assert.equal(pgm.poolState().idle, 1);
    });
  });

  it(channelRefcountDiagram.title, () => {
    scheduler().run(({ expectObservable, flush }) => {
      const driver = new ScriptedDriver();
      const pgm = manager(driver);
      pgm.createConnListen({ name: 'listen', host: 'scripted', healthCheckInterval: 0 });
      expectObservable(pgm.notifications('ch'), lane(channelRefcountDiagram, 0)).toBe('');
      expectObservable(pgm.notifications('ch'), lane(channelRefcountDiagram, 1)).toBe('');
      flush();
      const letters: Record<string, string> = { 'LISTEN "ch"': 'l', 'UNLISTEN "ch"': 'u' };
      assert.equal(marblesOf(driver.statements.map((statement) => ({ at: statement.at, letter: letters[statement.sql] ?? '?' }))), lane(channelRefcountDiagram, 2));
    });
  });

  it(reconnectGapDiagram.title, () => {
    scheduler().run(({ cold, expectObservable }) => {
      const driver = new ScriptedDriver();
      const pgm = manager(driver);
      pgm.createConnListen({ name: 'listen', host: 'scripted', healthCheckInterval: 0, reconnectDelay: 3, reconnectJitter: false });
      const letter = (status: ListenStatus): string => ({ idle: 'i', connecting: 'c', listening: 'l', reconnecting: 'r', gap: 'g', failed: 'f', closed: 'x' })[status.state];
      expectObservable(pgm.notifications('ch', { gaps: true }).pipe(map((event) => (event instanceof ListenGap ? 'g' : 'n')))).toBe(lane(reconnectGapDiagram, 2));
      expectObservable(pgm.listenStatus$().pipe(map(letter))).toBe(lane(reconnectGapDiagram, 1));
      cold(lane(reconnectGapDiagram, 0)).subscribe(() => driver.kill());
    });
  });
});
