// MyManager's sslmode: what each mode asks mysql2 for, and that a mode that needs TLS never
// connects in plain text. The project's MariaDB has no TLS (have_ssl DISABLED), so the modes that
// need it are checked to fail there with a typed error, and the others to connect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import { ConfigurationError, ConnectionError } from '../src/index.js';
import { MyManager, MysqlDriver } from '../src/mysql.js';

const MYSQL_URL = process.env.MYSQL_URL;

function sslFor(sslmode: string): unknown {
  const settings = { applicationName: undefined, fallbackApplicationName: 'rxpg', keepAlive: true, keepAliveInitialDelayMillis: 10_000, statementTimeoutMillis: 0, defaultIsolation: undefined, typeParsers: undefined, prepare: true, pooler: 'none' } as const;
  return new MysqlDriver().resolveConnection({ connectionString: `mysql://root@127.0.0.1:3306/test?sslmode=${sslmode}` }, settings, 'c').params.ssl;
}

describe('MyManager sslmode (no database)', () => {
  it('verify-ca verifies the chain but not the host name; verify-full both; require neither', () => {
    for (const mode of ['verify-ca', 'VERIFY_CA']) {
      const ssl = sslFor(mode) as { rejectUnauthorized?: boolean; checkServerIdentity?: () => unknown };
      assert.notEqual(ssl, false, `${mode} asks for TLS`);
      assert.notEqual(ssl.rejectUnauthorized, false, `${mode} verifies the chain`);
      assert.equal(typeof ssl.checkServerIdentity, 'function');
      assert.equal(ssl.checkServerIdentity?.(), undefined, `${mode} accepts any host name`);
    }
    for (const mode of ['verify-full', 'verify_identity']) assert.deepEqual(sslFor(mode), {});
    for (const mode of ['require', 'required']) assert.deepEqual(sslFor(mode), { rejectUnauthorized: false });
    for (const mode of ['disable', 'disabled', 'allow', 'prefer', 'preferred']) assert.equal(sslFor(mode), false);
  });

  it('refuses an sslmode it does not know, rather than connecting without TLS', () => {
    assert.throws(() => sslFor('verify-cert'), (error: unknown) => error instanceof ConfigurationError && /sslmode 'verify-cert' is not one of .*verify-ca/.test(error.message));
  });
});

describe('MyManager sslmode on MariaDB', { skip: MYSQL_URL ? false : 'no MySQL/MariaDB server (MYSQL_URL unset)' }, () => {
  it('a mode that needs TLS fails with a typed, non-retryable error on a server without TLS; the others connect', async (t) => {
    const probe = new MyManager();
    probe.createConn({ connectionString: MYSQL_URL as string, poolSize: 1 });
    const [row] = await lastValueFrom(probe.query<{ v: string }>("SELECT @@have_ssl AS v").pipe(toArray()));
    await probe.close();
    if (row.v === 'YES') return t.skip('this MariaDB has TLS on');
    const withMode = (mode: string): string => `${MYSQL_URL as string}${(MYSQL_URL as string).includes('?') ? '&' : '?'}sslmode=${mode}`;
    for (const mode of ['require', 'verify-ca', 'verify-full']) {
      const mym = new MyManager();
      mym.createConn({ connectionString: withMode(mode), poolSize: 1, connectTimeout: 10 });
      const error = await lastValueFrom(mym.query('SELECT 1')).catch((caught: unknown) => caught);
      await mym.close();
      assert.ok(error instanceof ConnectionError, `${mode}: ${String(error)}`);
      assert.equal(error.isRetryable, false, mode);
      assert.match(error.message, /the server does not support TLS, and this config requires it \(sslmode or ssl\)/, mode);
    }
    for (const mode of ['disable', 'prefer']) {
      const mym = new MyManager();
      mym.createConn({ connectionString: withMode(mode), poolSize: 1, connectTimeout: 10 });
      const rows = await lastValueFrom(mym.query<{ one: number }>('SELECT 1 AS one').pipe(toArray()));
      await mym.close();
      assert.equal(rows[0].one, 1, mode);
    }
  });
});
