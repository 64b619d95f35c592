// A wrong number of parameter values, or the other backend's placeholders: the error says how
// many placeholders the statement has and how many values came, never rxpg's internal
// statement name, and hints at the right placeholder style. Valid SQL with a `?` (the jsonb
// operator) still runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { QueryError } from '../src/index.js';
import { MyManager } from '../src/mysql.js';
import { countPlaceholders } from '../src/mysql/placeholders.js';
import { backendSkip } from './support/backends.js';
import { testManager } from './support/database.js';

async function failure(source: Promise<unknown>): Promise<QueryError> {
  const error = await source.catch((caught: unknown) => caught);
  assert.ok(error instanceof QueryError, `a QueryError: ${String(error)}`);
  return error;
}

describe('placeholders on postgres', () => {
  it('a wrong number of values says how many placeholders and values, without the internal statement name', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const tooMany = await failure(lastValueFrom(pgm.query('SELECT $1::int AS x', [1, 2])));
    assert.equal(tooMany.message, 'The statement has 1 placeholder ($1) but 2 values were given: pass one value per placeholder.');
    assert.equal(tooMany.sqlState, '08P01');
    const tooFew = await failure(lastValueFrom(pgm.query('SELECT $1::int AS a, $2::int AS b', [1])));
    assert.equal(tooFew.message, 'The statement has 2 placeholders ($1 … $2) but 1 value was given: pass one value per placeholder.');
    // The same through a cursor, and once prepared (the second run binds the cached statement).
    for (let run = 0; run < 2; run++) {
      const streamed = await failure(lastValueFrom(pgm.stream('SELECT $1::int AS x', [1, 2])));
      assert.doesNotMatch(streamed.message, /rxpg_\w+/);
      assert.match(streamed.message, /1 placeholder \(\$1\) but 2 values/);
    }
    assert.equal((await firstValueFrom(pgm.query<{ x: number }>('SELECT $1::int AS x', [7]))).x, 7, 'the session serves the next statement');
    await pgm.close();
  });

  it('`?` placeholders get a hint, and valid SQL with the jsonb `?` operator still runs', async () => {
    const { pgm } = testManager({ poolSize: 1 });
    const syntax = await failure(lastValueFrom(pgm.query('SELECT 1 AS one WHERE 1 = ?', [1])));
    assert.equal(syntax.reason, 'syntax');
    assert.match(syntax.message, /^syntax error at end of input/);
    assert.match(syntax.message, /Postgres placeholders are \$1, \$2, …; `\?` is MySQL's\.$/);
    const counted = await failure(lastValueFrom(pgm.query(`SELECT '{"a":1}'::jsonb ? 'a' AS found`, ['a'])));
    assert.match(counted.message, /has no placeholders but 1 value was given.*Postgres placeholders are \$1/);
    assert.equal((await firstValueFrom(pgm.query<{ found: boolean }>(`SELECT '{"a":1}'::jsonb ? 'a' AS found`))).found, true);
    assert.equal((await firstValueFrom(pgm.query<{ found: boolean }>(`SELECT $1::jsonb ? 'a' AS found`, ['{"a":1}']))).found, true);
    // No hint where `$n` placeholders are there: the `?` is an operator then.
    const other = await failure(lastValueFrom(pgm.query(`SELECT $1::jsonb ? 'a' AS found FROM no_such_table_anywhere`, ['{}'])));
    assert.doesNotMatch(other.message, /placeholders/);
    await pgm.close();
  });
});

describe('placeholders on mysql', () => {
  it('`$1` placeholders get a hint', { skip: backendSkip('mysql') }, async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: process.env.MYSQL_URL as string, poolSize: 1 });
    const error = await failure(lastValueFrom(mym.query('SELECT 1 AS one FROM DUAL WHERE 1 = $1', [1])));
    assert.match(error.message, /^The statement has no placeholders but 1 value was given: pass one value per placeholder\./);
    assert.match(error.message, /MySQL and MariaDB placeholders are \?; \$1 is Postgres'\.$/);
    assert.equal((await firstValueFrom(mym.query<{ one: number }>('SELECT 1 AS one FROM DUAL WHERE 1 = ?', [1]))).one, 1);
    await mym.close();
  });

  it('a wrong number of values is refused before mysql2 sends garbage, and said in placeholders and values', { skip: backendSkip('mysql') }, async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: process.env.MYSQL_URL as string, poolSize: 1 });
    // mysql2 sends surplus values unchecked: the server read 2.5e-323 for `SELECT ? AS x` with [1, 2].
    const runs: (() => Observable<unknown>)[] = [() => mym.query('SELECT ? AS x', [1, 2]), () => mym.stream('SELECT ? AS x', [1, 2]), () => mym.command('DO ?', [1, 2])];
    for (const run of runs) {
      const tooMany = await failure(lastValueFrom(run()));
      assert.equal(tooMany.message, 'The statement has 1 placeholder (?) but 2 values were given: pass one value per placeholder.');
      assert.equal(tooMany.reason, 'data');
    }
    const tooFew = await failure(lastValueFrom(mym.query('SELECT ? AS a, ? AS b', [1])));
    assert.match(tooFew.message, /: The statement has 2 placeholders \(\?\) but 1 value was given: pass one value per placeholder\.$/);
    const none = await failure(lastValueFrom(mym.query('SELECT ? AS a')));
    assert.match(none.message, /: The statement has 1 placeholder \(\?\) but no values were given: pass one value per placeholder\.$/);
    // `?` inside literals, identifiers and comments is no placeholder: these run.
    const row = await firstValueFrom(
      mym.query<{ 'q?': string; n: number }>("SELECT 'why?' AS `q?`, ? AS n /* or? */ -- really?\n FROM DUAL", [7]),
    );
    assert.deepEqual([row['q?'], Number(row.n)], ['why?', 7]);
    assert.equal((await firstValueFrom(mym.query<{ n: number }>('SELECT ? AS n', [1]))).n, 1, 'the session still serves');
    await mym.close();
  });
});

describe('counting MySQL placeholders (no database)', () => {
  it('counts the ? outside literals, quoted identifiers and comments', () => {
    const cases: [string, number][] = [
      ['SELECT ?', 1],
      ['SELECT ?, ?', 2],
      ["SELECT 'a?b', \"c?\", `d?` , ?", 1],
      ["SELECT 'it''s?', 'back\\'slash?', ?", 1],
      ['SELECT 1 -- what?\n, ?', 1],
      ['SELECT 1 --? no comment without a space: ?', 2],
      ['SELECT 1 # why?\n + ?', 1],
      ['SELECT /* ? */ ?', 1],
      ['SELECT /*! ? */ 1', 1],
      ["SELECT 'unterminated ?", 0],
      ['', 0],
    ];
    for (const [sql, count] of cases) assert.equal(countPlaceholders(sql), count, sql);
  });
});
