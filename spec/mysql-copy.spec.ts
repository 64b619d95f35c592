// MyManager has no COPY yet: copyTo() and copyFrom() fail with a typed error that says what to use
// instead, nothing reaches the server, and the session serves the next statement.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { QueryError } from '../src/index.js';
import { MyManager } from '../src/mysql.js';

const MYSQL_URL = process.env.MYSQL_URL;

describe('MyManager copyTo() and copyFrom()', { skip: MYSQL_URL ? false : 'no MySQL/MariaDB server (MYSQL_URL unset)' }, () => {
  it('refuse with a QueryError of reason unsupported that points at stream() and INSERTs, and the session stays usable', async () => {
    const mym = new MyManager();
    mym.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    const pid = (await firstValueFrom(mym.query<{ id: number }>('SELECT CONNECTION_ID() AS id'))).id;
    let sourceRead = false;
    const refusals = [
      await firstValueFrom(mym.copyFrom("LOAD DATA LOCAL INFILE 'rows' INTO TABLE t", (function* () {
        sourceRead = true;
        yield [1];
      })())).catch((caught: unknown) => caught),
      await lastValueFrom(mym.copyTo('SELECT 1').pipe(toArray())).catch((caught: unknown) => caught),
    ];
    for (const error of refusals) {
      assert.ok(error instanceof QueryError, String(error));
      assert.equal(error.reason, 'unsupported');
      assert.match(error.message, /MyManager has no copyTo\(\) or copyFrom\(\): export with stream\(\)/);
    }
    assert.equal(sourceRead, false, 'the source was never read');
    const after = await firstValueFrom(mym.query<{ id: number }>('SELECT CONNECTION_ID() AS id'));
    assert.equal(after.id, pid, 'the same session served the next statement');
    await mym.close();
  });
});
