// The public types, checked as a user's project compiles them (spec/types/public-api.ts under
// strict nodenext), and the run-time behaviour they describe, on the real server: a column named
// `length` reads as that column, and connection(fn) runs fn as cursor(fn) does.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import { RowShape } from '../src/index.js';
import { testManager } from './support/database.js';
import { ROOT, typeCheck } from './support/type-check.js';

describe('public types', () => {
  it('spec/types/public-api.ts compiles under a user’s strict nodenext settings', () => {
    const problems = typeCheck([join(ROOT, 'spec/types/public-api.ts')]);
    const lines = problems.map((problem) => `${problem.file.replace(`${ROOT}/`, '')}:${problem.line}: ${problem.message}`);
    assert.deepEqual(lines, []);
  });
});

describe('columns named like the row’s own values', () => {
  const { pgm } = testManager();
  after(() => pgm.close());

  it('a column named length or columns is what property access gives; the count and metadata stay without one', async () => {
    const [film] = await lastValueFrom(
      pgm.query<{ title: string; length: string; columns: number }>("SELECT 'Metropolis' AS title, '02:33' AS length, 3 AS columns").pipe(toArray()),
    );
    assert.equal(film.length, '02:33');
    assert.equal(film.columns, 3);
    assert.equal(film.keys().length, 3, 'keys().length counts the columns whatever they are called');
    assert.deepEqual(film.toObject(), { title: 'Metropolis', length: '02:33', columns: 3 });
    // Control: the same access without such columns gives the row's own values.
    const [plain] = await lastValueFrom(pgm.query("SELECT 'Metropolis' AS title, 1 AS n").pipe(toArray()));
    assert.equal(plain.length, 2);
    assert.deepEqual(
      plain.columns.map((column) => column.name),
      ['title', 'n'],
    );
  });

  it('methods keep their names: a column named get or keys is read with get()', () => {
    const row = new RowShape([
      { name: 'get', typeOid: 25, tableOid: 0, columnNumber: 0 },
      { name: 'length', typeOid: 23, tableOid: 0, columnNumber: 0 },
    ]).row<{ get: string; length: number }>(['g', 7]);
    assert.equal(typeof row.get, 'function');
    assert.equal(row.get('get'), 'g');
    assert.equal(row.length, 7);
  });
});

describe('connection(fn)', () => {
  const { pgm } = testManager();
  after(() => pgm.close());

  it('runs fn on the default config, as cursor(fn) does', async () => {
    const rows = await lastValueFrom(pgm.connection((conn) => conn.query<{ n: number }>('SELECT 1 AS n')).pipe(toArray()));
    assert.deepEqual(
      rows.map((row) => row.n),
      [1],
    );
  });
});
