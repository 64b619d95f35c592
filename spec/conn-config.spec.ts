import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConfigurationError, PgManager, type ConnOptions } from '../src/index.js';
import { resolveConnConfig, type ConnConfig } from '../src/manager/conn-config.js';
import { PostgresDriver } from '../src/postgres/postgres-driver.js';
import { firstValueFrom } from 'rxjs';
import { DATABASE_URL, uniqueName, useAdminClient } from './support/database.js';
import { testPassword } from './support/secrets.js';

const SECRET = testPassword('config');

function resolve(options: ConnOptions, others: Record<string, ConnConfig> = {}): ConnConfig {
  return resolveConnConfig(
    options,
    (name) => {
      const found = others[name];
      if (!found) throw new ConfigurationError(`Unknown connection '${name}'`);
      return found;
    },
    (source, settings, conn) => new PostgresDriver().resolveConnection(source, settings, conn),
  );
}

function rejects(options: ConnOptions, pattern: RegExp): ConfigurationError {
  let caught: unknown;
  try {
    resolve(options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigurationError, `expected a ConfigurationError for options ${Object.keys(options).join(", ")}`);
  assert.equal(caught.code, 'RXPG_CONFIGURATION');
  assert.equal(caught.reason, 'configuration');
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes(SECRET), 'the message must not contain the password');
  return caught;
}

describe('createConn options (no database)', () => {
  it('accepts fields, libpq names and defaults the name to "default"', () => {
    const config = resolve({ hostaddr: '127.0.0.1', port: 5433, user: 'u', password: SECRET, dbname: 'd' });
    assert.equal(config.name, 'default');
    assert.equal(config.params.host, '127.0.0.1');
    assert.equal(config.params.port, 5433);
    assert.equal(config.params.database, 'd');
    assert.equal(config.params.password, SECRET);
    assert.equal(config.isolationLevel, 'autocommit');
    assert.equal(config.connectTimeoutMillis, 30_000);
  });

  it('parses a libpq keyword dsn with quoting', () => {
    const config = resolve({ dsn: `host=db.example port=6543 dbname='my db' user=app password='it\\'s ${SECRET}' connect_timeout=7 sslmode=require` });
    assert.equal(config.params.host, 'db.example');
    assert.equal(config.params.port, 6543);
    assert.equal(config.params.database, 'my db');
    assert.equal(config.params.password, `it's ${SECRET}`);
    assert.equal(config.connectTimeoutMillis, 7000);
    assert.deepEqual(config.params.ssl, { rejectUnauthorized: false });
  });

  it('parses a URL with percent-encoding and query parameters', () => {
    const config = resolve({ connectionString: `postgresql://us%40er:${SECRET}@[::1]:5444/d%2Fb?sslmode=disable&application_name=app1` });
    assert.equal(config.params.user, 'us@er');
    assert.equal(config.params.host, '::1');
    assert.equal(config.params.port, 5444);
    assert.equal(config.params.database, 'd/b');
    assert.equal(config.params.password, SECRET);
    assert.equal(config.params.ssl, false);
    assert.equal(config.params.applicationName, 'app1', "the URL's application_name beats rxpg's default");
  });

  it("names the application with libpq's precedence: field, then string, then PGAPPNAME, then fallback", () => {
    const saved = process.env.PGAPPNAME;
    const name = (options: ConnOptions): string | undefined => resolve(options).params.applicationName;
    try {
      delete process.env.PGAPPNAME;
      assert.equal(name({ host: 'h' }), 'rxpg', 'the default when nothing names it');
      assert.equal(name({ connectionString: 'postgres://h/d?fallback_application_name=fb' }), 'fb', "the string's fallback beats rxpg's");
      assert.equal(name({ dsn: 'host=h application_name=dsn_app' }), 'dsn_app', "a keyword dsn's value beats the default");
      process.env.PGAPPNAME = 'env_app';
      assert.equal(name({ host: 'h' }), 'env_app', 'PGAPPNAME beats the default');
      assert.equal(name({ connectionString: 'postgres://h/d?fallback_application_name=fb' }), 'env_app', 'PGAPPNAME beats a fallback');
      assert.equal(name({ connectionString: 'postgres://h/d?application_name=url_app' }), 'url_app', 'the string beats PGAPPNAME');
      assert.equal(name({ connectionString: 'postgres://h/d?application_name=url_app', applicationName: 'field_app' }), 'field_app', 'an explicit field beats the string');
    } finally {
      if (saved === undefined) delete process.env.PGAPPNAME;
      else process.env.PGAPPNAME = saved;
    }
  });

  it('suggests the nearest name for an unknown key', () => {
    rejects({ hots: 'x' } as ConnOptions, /unknown option 'hots' \(did you mean 'host'\?\)/);
    rejects({ poolsize: 3 } as ConnOptions, /did you mean 'poolSize'/);
  });

  it('rejects a bad isolation level with the valid ones and a suggestion', () => {
    rejects({ isolationLevel: 'serialisable' } as unknown as ConnOptions, /not one of autocommit, read_committed, repeatable_read, serializable \(did you mean 'serializable'\?\)/);
  });

  it('rejects a dsn or URL given together with fields, and two sources', () => {
    rejects({ dsn: 'host=a', host: 'b' }, /both dsn and host were given/);
    rejects({ connectionString: 'postgres://a/b', database: 'c' }, /both connectionString and database/);
    rejects({ dsn: 'host=a', connectionString: 'postgres://a/b' }, /only one of connectionString, dsn/);
    rejects({ database: 'a', dbname: 'b' }, /database and dbname/);
  });

  it('rejects bad numbers and types with the rule', () => {
    rejects({ poolSize: 0 }, /poolSize must be a positive integer/);
    rejects({ port: 70000 }, /port must be an integer from 1 to 65535/);
    rejects({ connectTimeout: -1 }, /connectTimeout must be a positive number of seconds/);
    rejects({ connectTimeout: -1 }, /got -1\./);
    rejects({ host: 5 as unknown as string }, /host must be a string/);
    rejects({ sslmode: 'requir' as 'require' }, /did you mean 'require'/);
    rejects({ typeParsers: { int9: BigInt } }, /did you mean 'int8'/);
  });

  it('rejects durations a timer cannot keep: NaN, Infinity, negative, fractional or above 2^31−1 ms, printing the value as given and the unit', () => {
    const millisKeys = ['acquireTimeout', 'idleTimeout', 'maxLifetime', 'statementTimeout', 'keepAliveInitialDelay'] as const;
    for (const key of millisKeys) {
      for (const [value, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-1, '-1'], [1.5, '1.5'], [2 ** 31, '2147483648'], ['5000', '"5000"']] as const) {
        const error = rejects({ [key]: value } as ConnOptions, new RegExp(`${key} must be a whole number of milliseconds from [01] to 2147483647`));
        assert.ok(error.message.endsWith(`got ${shown}.`), `${key} = ${shown}: ${error.message}`);
      }
    }
    // 30 days: every connect used to fail with the server's retryable-looking 22023.
    rejects({ statementTimeout: 30 * 24 * 3600 * 1000 }, /statementTimeout must be a whole number of milliseconds from 0 to 2147483647 \(about 24\.8 days\); 0 for none, got 2592000000\./);
    rejects({ acquireTimeout: 0 }, /acquireTimeout must be a whole number of milliseconds from 1 to 2147483647/);
    assert.equal(resolve({ statementTimeout: 2 ** 31 - 1, idleTimeout: 0, maxLifetime: 0 }).idleTimeoutMillis, 0);
  });

  it('reads connectTimeout in seconds, as libpq does, and refuses what looks like milliseconds', () => {
    const error = rejects({ connectTimeout: 5000 }, /connectTimeout is in seconds, as libpq's connect_timeout; did you mean 5\?/);
    assert.match(error.message, /got 5000/);
    rejects({ connectTimeout: 3601 }, /at most 3600/);
    rejects({ connectTimeout: NaN }, /connectTimeout must be a positive number of seconds \(as libpq's connect_timeout\), at most 3600, got NaN\./);
    rejects({ connectTimeout: 0 }, /got 0\./);
    rejects({ connectionString: 'postgres://h/db?connect_timeout=10000' }, /connect_timeout is in seconds.*did you mean 10\?/);
    assert.equal(resolve({ connectTimeout: 0.5 }).connectTimeoutMillis, 500);
    assert.equal(resolve({ connectTimeout: 3600 }).connectTimeoutMillis, 3_600_000);
    assert.equal(resolve({ connectionString: 'postgres://h/db?connect_timeout=7' }).connectTimeoutMillis, 7000);
  });

  it('checks the manager options that are durations', () => {
    for (const key of ['cancelGraceMillis', 'closeGraceMillis', 'clientTimeoutGraceMillis'] as const) {
      assert.throws(() => new PgManager({ [key]: NaN }), new RegExp(`new PgManager: ${key} must be a whole number of milliseconds from 0 to 2147483647.*got NaN\\.`));
      assert.throws(() => new PgManager({ [key]: 2 ** 31 }), ConfigurationError);
    }
  });

  it('never shows the password for a malformed URL or dsn', () => {
    rejects({ connectionString: `postgres://user:${SECRET}@host:notaport/db` }, /postgres:\/\/user:\*\*\*@host:notaport\/db/);
    rejects({ dsn: `host=a password=${SECRET} bogus` }, /dsn is malformed/);
    rejects({ dsn: `host=a password=${SECRET} sslmod=x` }, /did you mean 'sslmode'/);
  });

  it('copies connection parameters with copyDsn, password included, and lets fields override', () => {
    const source = resolve({ name: 'thatdb', host: 'h', user: 'u', password: SECRET, database: 'one' });
    const copy = resolve({ name: 'listen', copyDsn: 'thatdb', database: 'two', poolSize: 1 }, { thatdb: source });
    assert.equal(copy.params.host, 'h');
    assert.equal(copy.params.user, 'u');
    assert.equal(copy.params.password, SECRET);
    assert.equal(copy.params.database, 'two');
    assert.equal(copy.poolSize, 1);
  });

  it('keeps the password out of JSON, util.inspect and spreads of configs and managers', () => {
    const config = resolve({ connectionString: `postgres://u:${SECRET}@h/d` });
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10, showHidden: false }), JSON.stringify({ ...config.params })]) {
      assert.ok(!text.includes(SECRET), text);
    }
    const pgm = new PgManager();
    pgm.createConn({ name: 'x', host: 'h', password: SECRET });
    assert.ok(!inspect(pgm, { depth: 10 }).includes(SECRET));
    assert.ok(!JSON.stringify(pgm).includes(SECRET));
  });

  it('rejects a duplicate name and an unknown one, saying what to do', () => {
    const pgm = new PgManager();
    pgm.createConn({ name: 'a', host: 'h' });
    assert.throws(() => pgm.createConn({ name: 'a', host: 'h' }), /already registered.*destroyConn\('a'\)/);
    assert.throws(() => pgm.query('SELECT 1', [], { conn: 'b' }), /Unknown connection 'b'.*Registered: 'a'/);
    assert.throws(() => pgm.query('SELECT 1', [], { conn: 'aa' } ), /did you mean 'a'/);
    assert.throws(() => pgm.query('SELECT 1', [], { con: 'a' } as never), /unknown option 'con' \(did you mean 'conn'\?\)/);
    assert.throws(() => pgm.query('SELECT $1', 'x' as never, { conn: 'a' }), /Parameters must be an array/);
    assert.throws(() => pgm.transaction(() => [], { conn: 'a', isolationLevel: 'autocommit' as never }), /isolationLevel 'autocommit' is not one of/);
  });

  it('never connects when a config is registered', async () => {
    const pgm = new PgManager();
    pgm.createConn({ host: '127.0.0.1', port: 1 });
    assert.deepEqual(pgm.poolState(), { size: 10, total: 0, inUse: 0, idle: 0, waiting: 0 });
    await pgm.close();
  });
});

describe('application_name on the server', () => {
  const admin = useAdminClient();

  const appOnServer = async (options: ConnOptions): Promise<string[]> => {
    const pgm = new PgManager();
    pgm.createConn(options);
    const pid = Number((await firstValueFrom(pgm.query('SELECT pg_backend_pid() AS pid'))).pid);
    const { rows } = await admin.query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [pid]);
    await pgm.close();
    return rows.map((row) => row.application_name);
  };

  it("shows the connection string's application_name, and an explicit applicationName over it", async () => {
    const url = new URL(DATABASE_URL);
    const fromUrl = uniqueName('url_app');
    url.searchParams.set('application_name', fromUrl);
    assert.deepEqual(await appOnServer({ connectionString: url.toString() }), [fromUrl]);
    const explicit = uniqueName('field_app');
    assert.deepEqual(await appOnServer({ connectionString: url.toString(), applicationName: explicit }), [explicit]);
  });
});
