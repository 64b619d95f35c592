// The README's example of testing a pipeline with rxpg/testing, kept runnable here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catchError, map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PgManager, QueryError, reasonForSqlState } from '../src/index.js'; // users write: from 'rxpg'
import { ScriptedDriver } from '../src/testing.js'; // users write: from 'rxpg/testing'

// The code under test: names of active users, or [] when the table is missing.
function activeUserNames(pgm: PgManager) {
  return pgm.query<{ name: string }>('SELECT name FROM users WHERE active').pipe(
    map((row) => row.name.toUpperCase()),
    catchError((error: unknown) => (error instanceof QueryError && error.reason === 'undefined_object' ? of('none') : of('error'))),
  );
}

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

test('activeUserNames emits each name as its row arrives', () => {
  scheduler().run(({ expectObservable, flush }) => {
    const driver = new ScriptedDriver().on('FROM users', { frames: 3, columns: ['name'], rows: [['ada'], ['bob']] });
    const pgm = new PgManager({ driver });
    pgm.createConn({ host: 'scripted' });
    // Connecting takes 1 frame, the statement 3: both rows and the completion at frame 4.
    expectObservable(activeUserNames(pgm)).toBe('----(ab|)', { a: 'ADA', b: 'BOB' });
    flush();
    assert.deepEqual(driver.sent, ['SELECT name FROM users WHERE active']);
  });
});

test('activeUserNames copes with a missing table', () => {
  scheduler().run(({ expectObservable }) => {
    const driver = new ScriptedDriver({ reasonFor: reasonForSqlState }).on('FROM users', { error: { code: '42P01', message: 'relation "users" does not exist' } });
    const pgm = new PgManager({ driver });
    pgm.createConn({ host: 'scripted' });
    expectObservable(activeUserNames(pgm)).toBe('--(n|)', { n: 'none' });
  });
});
