// rxpg/testing's ScriptedDriver is backend-neutral: reasons come from the mapping it is given,
// so MyManager's users script errnos as PgManager's script SQLSTATEs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PgManager, QueryError, reasonForSqlState, RxpgError } from '../src/index.js';
import { MyManager, reasonForMysqlError } from '../src/mysql.js';
import { ScriptedDriver } from '../src/testing.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
/** The error as `reason/SQLSTATE` (a QueryError) or `reason` (any other RxpgError). */
const reasonOf = catchError((error: unknown) =>
  of(error instanceof QueryError ? `${error.reason}/${String(error.sqlState)}` : error instanceof RxpgError ? error.reason : String(error)),
);

describe('ScriptedDriver without a backend of its own (marbles)', () => {
  it('maps a MySQL errno through reasonForMysqlError for MyManager', () => {
    scheduler().run(({ expectObservable }) => {
      const driver = new ScriptedDriver({ reasonFor: reasonForMysqlError }).on('INSERT', { error: { code: 1062, sqlState: '23000', message: "Duplicate entry '1' for key 'PRIMARY'" } });
      const mym = new MyManager({ driver });
      mym.createConn({ host: 'scripted' });
      expectObservable(mym.query('INSERT INTO t VALUES (?)', [1]).pipe(map(String), reasonOf)).toBe('--(r|)', { r: 'unique_violation/23000' });
    });
  });

  it('maps a SQLSTATE through reasonForSqlState for PgManager', () => {
    scheduler().run(({ expectObservable }) => {
      const driver = new ScriptedDriver({ reasonFor: reasonForSqlState }).on('INSERT', { error: { code: '23505', message: 'duplicate key' } });
      const pgm = new PgManager({ driver });
      pgm.createConn({ host: 'scripted' });
      expectObservable(pgm.query('INSERT INTO t VALUES ($1)', [1]).pipe(map(String), reasonOf)).toBe('--(r|)', { r: 'unique_violation/23505' });
    });
  });

  it('takes a reason given outright, and says unknown without a mapping', () => {
    scheduler().run(({ expectObservable }) => {
      const driver = new ScriptedDriver().on('A', { error: { reason: 'deadlock', message: 'scripted deadlock' } }).on('B', { error: { code: '40P01', message: 'no mapping' } });
      const pgm = new PgManager({ driver });
      pgm.createConn({ host: 'scripted' });
      expectObservable(pgm.query('A').pipe(map(String), reasonOf)).toBe('--(r|)', { r: 'deadlock/undefined' });
      expectObservable(pgm.query('B').pipe(map(String), reasonOf)).toBe('--(r|)', { r: 'unknown/40P01' });
    });
  });

  it('a listen session closed while waitForNotify waits: a typed closed error, not RxJS’s EmptyError', () => {
    scheduler().run(({ expectObservable, cold }) => {
      const driver = new ScriptedDriver();
      const pgm = new PgManager({ driver });
      pgm.createConnListen({ host: 'scripted', channel: 'jobs' });
      cold('-----x').subscribe(() => void pgm.close());
      expectObservable(pgm.waitForNotify('listen').pipe(map(String), reasonOf)).toBe('-----(r|)', { r: 'closed' });
    });
  });
});
