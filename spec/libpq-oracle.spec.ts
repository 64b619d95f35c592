// libpq itself as the oracle: each case is a connection string and an environment, connected
// once with psql (libpq) and once with rxpg, and the session each one got must be the same:
// current_user, current_database(), application_name, search_path, TimeZone,
// statement_timeout, the server port (inet_server_port(): empty over a unix socket) and
// whether TLS is used (pg_stat_ssl, what sslinfo's ssl_is_used() reads). A case both refuse
// must fail on both. Needs psql: without it the table is skipped, saying so, unless
// RXPG_REQUIRE_PSQL=1 (set by .ci/run where /usr/bin/psql exists), which makes it fail.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { firstValueFrom } from 'rxjs';
import { PgManager, type ConnOptions } from '../src/index.js';
import { DATABASE_URL } from './support/database.js';

const SQL =
  "SELECT current_user, current_database(), current_setting('application_name'), current_setting('search_path'), " +
  "current_setting('TimeZone'), current_setting('statement_timeout'), inet_server_port(), " +
  'coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)';
const COLUMNS = ['current_user', 'current_database', 'application_name', 'search_path', 'TimeZone', 'statement_timeout', 'server_port', 'ssl_is_used'];

/** psql from RXPG_PSQL (a path, to test the skip with a missing one), else /usr/bin or PATH. */
function findPsql(): string | undefined {
  const given = process.env.RXPG_PSQL;
  const candidates = given !== undefined ? [given] : ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter)].map((folder) => join(folder, 'psql'));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // the next one
    }
  }
  return undefined;
}

const psql = findPsql();
const server = new URL(DATABASE_URL);
const H = server.hostname.replace(/^\[|\]$/g, '');
const P = server.port || '5432';
const U = decodeURIComponent(server.username) || 'postgres';
const D = decodeURIComponent(server.pathname.slice(1)) || 'postgres';
const PASSWORD = decodeURIComponent(server.password);
const SOCKET_DIR = '/var/run/postgresql';
const socketReason = existsSync(join(SOCKET_DIR, `.s.PGSQL.${P}`)) ? undefined : `no unix socket ${SOCKET_DIR}/.s.PGSQL.${P} for the test server`;

const dir = mkdtempSync(join(tmpdir(), 'rxpg-oracle-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string, mode = 0o600): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
};
const services = write('services.conf', `[oracle]\nhost=${H}\nport=${P}\nuser=${U}\ndbname=${D}\napplication_name=oracle_svc\noptions=-c search_path=svc\n`);
const sysconf = mkdtempSync(join(dir, 'sysconf-'));
writeFileSync(join(sysconf, 'pg_service.conf'), `[oracle_sys]\nhost=${H}\nport=${P}\nuser=${U}\ndbname=postgres\n`);
const passfile = write('pgpass', `# the test server\n${H}:${P}:*:${U}:${PASSWORD.replace(/[\\:]/g, '\\$&')}\n`);
const openPassfile = write('pgpass-open', `*:*:*:*:${PASSWORD.replace(/[\\:]/g, '\\$&')}\n`, 0o644);
const home = mkdtempSync(join(dir, 'home-'));
const homeWithPgpass = mkdtempSync(join(dir, 'home-pgpass-'));
writeFileSync(join(homeWithPgpass, '.pgpass'), `*:*:*:*:${PASSWORD.replace(/[\\:]/g, '\\$&')}\n`, { mode: 0o600 });
const otherPassfile = write('pgpass-other', 'elsewhere:5432:*:*:not-this-one\n');

interface OracleCase {
  readonly name: string;
  /** A URL or keyword string, for both psql and rxpg; '' for none. */
  readonly conn: string;
  readonly env?: Record<string, string>;
  /** createConn fields rxpg gets on top of the string; psql gets them as later keywords of the same dsn, which win in libpq. */
  readonly fields?: { readonly applicationName?: string; readonly connectTimeout?: number; readonly sslmode?: 'disable' | 'require' };
  /** The string's fallback_application_name: psql's own fallback ('psql') beats it, rxpg's does not. */
  readonly fallback?: string;
  /** The case sends its own password (passfile): no PGPASSWORD. */
  readonly ownPassword?: boolean;
  readonly skip?: string;
}

const BASE_DSN = `host=${H} port=${P} user=${U} dbname=${D}`;
const BASE_URL = `postgresql://${encodeURIComponent(U)}@${H.includes(':') ? `[${H}]` : H}:${P}/${encodeURIComponent(D)}`;
const PERCENT = (text: string): string => [...text].map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');

const CASES: readonly OracleCase[] = [
  { name: 'URL', conn: BASE_URL },
  { name: 'keyword dsn', conn: BASE_DSN },
  { name: 'URL with application_name', conn: `${BASE_URL}?application_name=oracle_url` },
  { name: 'dsn with application_name', conn: `${BASE_DSN} application_name=oracle_dsn` },
  { name: 'PGAPPNAME', conn: BASE_DSN, env: { PGAPPNAME: 'oracle_env' } },
  { name: 'the string beats PGAPPNAME', conn: `${BASE_URL}?application_name=oracle_url`, env: { PGAPPNAME: 'oracle_env' } },
  { name: 'fallback_application_name', conn: `${BASE_DSN} fallback_application_name=oracle_fb`, fallback: 'oracle_fb' },
  { name: 'PGAPPNAME beats fallback_application_name', conn: `${BASE_DSN} fallback_application_name=oracle_fb`, env: { PGAPPNAME: 'oracle_env' }, fallback: 'oracle_fb' },
  { name: 'options with -c search_path and TimeZone in a URL', conn: `${BASE_URL}?options=-c%20search_path%3Dapp%20-c%20TimeZone%3DAsia/Tokyo` },
  { name: 'options in a dsn, quoted, with statement_timeout', conn: `${BASE_DSN} options='-c search_path=a,b -c statement_timeout=1234'` },
  { name: 'options with an escaped space', conn: `${BASE_DSN} options='-c search_path="my\\\\ schema"'` },
  { name: 'PGOPTIONS', conn: BASE_DSN, env: { PGOPTIONS: '-c search_path=envpath -c statement_timeout=4321' } },
  { name: 'the string options beat PGOPTIONS', conn: `${BASE_DSN} options='-c search_path=own'`, env: { PGOPTIONS: '-c search_path=envpath -c statement_timeout=4321' } },
  { name: 'PGTZ', conn: BASE_DSN, env: { PGTZ: 'America/New_York' } },
  { name: 'PGTZ beats a TimeZone in options (a startup parameter after the options)', conn: `${BASE_DSN} options='-c TimeZone=Europe/Paris'`, env: { PGTZ: 'Pacific/Auckland' } },
  { name: 'PGTZ=default sends nothing', conn: BASE_DSN, env: { PGTZ: 'default' } },
  { name: 'PGSSLMODE=disable', conn: BASE_DSN, env: { PGSSLMODE: 'disable' } },
  { name: 'sslmode=require (fails on a server without TLS, on both)', conn: `${BASE_DSN} sslmode=require` },
  { name: 'PGSSLMODE=require below the string sslmode=disable', conn: `${BASE_DSN} sslmode=disable`, env: { PGSSLMODE: 'require' } },
  { name: 'connect_timeout', conn: `${BASE_DSN} connect_timeout=5` },
  { name: 'PGCONNECT_TIMEOUT', conn: BASE_DSN, env: { PGCONNECT_TIMEOUT: '5' } },
  { name: 'keepalives', conn: `${BASE_DSN} keepalives=1 keepalives_idle=30 keepalives_interval=10 keepalives_count=3` },
  { name: 'service file by PGSERVICEFILE', conn: 'service=oracle', env: { PGSERVICEFILE: services } },
  { name: "the string's own keys beat the service's", conn: 'service=oracle dbname=postgres application_name=oracle_own', env: { PGSERVICEFILE: services } },
  { name: 'PGSERVICE, and the service beats the environment', conn: '', env: { PGSERVICE: 'oracle', PGSERVICEFILE: services, PGAPPNAME: 'oracle_env', PGDATABASE: 'postgres' } },
  { name: 'service in a URL query', conn: 'postgresql://?service=oracle', env: { PGSERVICEFILE: services } },
  { name: 'PGSYSCONFDIR/pg_service.conf', conn: 'service=oracle_sys', env: { PGSYSCONFDIR: sysconf, HOME: home } },
  { name: 'passfile', conn: `${BASE_DSN} passfile=${passfile}`, ownPassword: true },
  { name: 'PGPASSFILE', conn: BASE_URL, env: { PGPASSFILE: passfile }, ownPassword: true },
  { name: '~/.pgpass', conn: BASE_URL, env: { HOME: homeWithPgpass }, ownPassword: true },
  { name: 'a passfile without a matching line: ~/.pgpass is not read then', conn: `${BASE_DSN} passfile=${otherPassfile}`, env: { HOME: homeWithPgpass }, ownPassword: true },
  { name: 'a passfile others can read is ignored', conn: BASE_URL, env: { PGPASSFILE: openPassfile }, ownPassword: true },
  { name: 'percent-encoded user and database', conn: `postgresql://${PERCENT(U)}@${H}:${P}/${PERCENT(D)}` },
  { name: 'environment only: PGHOST, PGPORT, PGUSER, PGDATABASE', conn: '', env: { PGHOST: H, PGPORT: P, PGUSER: U, PGDATABASE: D } },
  { name: "dbname='' blocks PGDATABASE and means the user's name", conn: `host=${H} port=${P} user=${U} dbname=''`, env: { PGDATABASE: D } },
  { name: 'hostaddr with a host name', conn: `host=localhost hostaddr=127.0.0.1 port=${P} user=${U} dbname=${D}`, skip: H === '127.0.0.1' ? undefined : 'the test server is not on 127.0.0.1' },
  { name: 'two hosts, the first up', conn: `postgresql://${encodeURIComponent(U)}@${H}:${P},${H}:1/${encodeURIComponent(D)}` },
  { name: 'two hosts, the first down', conn: `postgresql://${encodeURIComponent(U)}@${H}:1,${H}:${P}/${encodeURIComponent(D)}` },
  { name: 'a host list, the first down, in a dsn with target_session_attrs=read-write', conn: `host=${H},${H} port=1,${P} user=${U} dbname=${D} target_session_attrs=read-write` },
  { name: 'target_session_attrs=standby against a primary fails on both', conn: `${BASE_DSN} target_session_attrs=standby` },
  { name: 'PGTARGETSESSIONATTRS=primary', conn: BASE_DSN, env: { PGTARGETSESSIONATTRS: 'primary' } },
  { name: 'a host list with one port for all', conn: `host=${H},${H} port=${P} user=${U} dbname=${D} target_session_attrs=any` },
  { name: 'IPv6 [::1]', conn: `postgresql://${encodeURIComponent(U)}@[::1]:${P}/${encodeURIComponent(D)}` },
  { name: 'unix socket host in a dsn', conn: `host=${SOCKET_DIR} port=${P} user=${U} dbname=${D}`, skip: socketReason },
  { name: 'unix socket host percent-encoded in a URL', conn: `postgresql://${encodeURIComponent(U)}@${encodeURIComponent(SOCKET_DIR)}:${P}/${encodeURIComponent(D)}`, skip: socketReason },
  { name: 'unix socket host in the URL query', conn: `${BASE_URL}?host=${SOCKET_DIR}`, skip: socketReason },
  { name: 'sslmode on a unix socket is ignored', conn: `host=${SOCKET_DIR} port=${P} user=${U} dbname=${D} sslmode=require`, skip: socketReason },
  { name: 'a field beats the string, which beats the environment', conn: `${BASE_DSN} application_name=oracle_dsn`, env: { PGAPPNAME: 'oracle_env' }, fields: { applicationName: 'oracle_field' } },
  { name: 'a field sslmode beats the string', conn: `${BASE_DSN} sslmode=require`, fields: { sslmode: 'disable' } },
  { name: 'gssencmode=disable is harmless', conn: `${BASE_DSN} gssencmode=disable` },
  { name: 'an invalid percent-encoding fails on both', conn: `${BASE_URL}x%zz` },
  { name: 'a port list longer than the host list fails on both', conn: `host=${H} port=${P},${P} user=${U} dbname=${D}` },
];

type Outcome = { ok: true; values: string[] } | { ok: false; error: string };

function caseEnv(c: OracleCase): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...(PASSWORD && !c.ownPassword ? { PGPASSWORD: PASSWORD } : {}), ...c.env };
}

function viaPsql(c: OracleCase): Promise<Outcome> {
  let conn = c.conn;
  if (c.fields?.applicationName !== undefined) conn += ` application_name=${c.fields.applicationName}`;
  if (c.fields?.sslmode !== undefined) conn += ` sslmode=${c.fields.sslmode}`;
  const args = ['-XAtw', '-F', '|', '-c', SQL, ...(conn === '' ? [] : ['-d', conn])];
  return new Promise((resolve) => {
    execFile(psql!, args, { env: caseEnv(c), timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) resolve({ ok: false, error: (stderr || error.message).trim() });
      else resolve({ ok: true, values: stdout.replace(/\n$/, '').split('|') });
    });
  });
}

async function viaRxpg(c: OracleCase): Promise<Outcome> {
  // The whole process environment is the case's while rxpg resolves, connects and queries:
  // pg reads some variables itself at connect time. Cases run one at a time in this file's process.
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, caseEnv(c));
  const pgm = new PgManager();
  try {
    const options: ConnOptions = { ...(c.conn === '' ? {} : c.conn.startsWith('postgres') ? { connectionString: c.conn } : { dsn: c.conn }), ...c.fields, acquireTimeout: 15_000 };
    pgm.createConn(options);
    const row = await firstValueFrom(pgm.query(SQL));
    return { ok: true, values: row.toArray().map((value) => (value === null ? '' : value === true ? 't' : value === false ? 'f' : String(value))) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await pgm.close().catch(() => {});
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

describe(`libpq as the oracle: ${CASES.length} connection strings and environments, each connected with psql and with rxpg`, () => {
  it('has at least 30 cases, and the test server is reachable by psql (the control)', async (t) => {
    assert.ok(CASES.length >= 30);
    if (!psql) {
      if (process.env.RXPG_REQUIRE_PSQL === '1') assert.fail('RXPG_REQUIRE_PSQL=1 but psql was not found in /usr/bin or PATH');
      t.skip('libpq oracle SKIPPED: psql is not installed (it comes with a PostgreSQL server installed from packages)');
      return;
    }
    const control = await viaPsql({ name: 'control', conn: BASE_URL });
    assert.ok(control.ok, `psql cannot reach the test server: ${control.ok ? '' : control.error}`);
  });

  let agreed = 0;
  let bothFailed = 0;
  for (const c of CASES) {
    it(c.name, async (t) => {
      if (!psql) {
        if (process.env.RXPG_REQUIRE_PSQL === '1') assert.fail('RXPG_REQUIRE_PSQL=1 but psql was not found');
        t.skip('psql is not installed');
        return;
      }
      if (c.skip) {
        t.skip(c.skip);
        return;
      }
      const expected = await viaPsql(c);
      const actual = await viaRxpg(c);
      if (!expected.ok) {
        assert.ok(!actual.ok, `psql failed (${expected.error}) but rxpg connected: ${actual.ok ? actual.values.join('|') : ''}`);
        bothFailed++;
        return;
      }
      assert.ok(actual.ok, `psql connected (${expected.values.join('|')}) but rxpg failed: ${actual.ok ? '' : actual.error}`);
      // psql names itself as libpq's fallback_application_name, and its own beats the string's; rxpg's is 'rxpg'.
      const want = [...expected.values];
      if (want[2] === 'psql') want[2] = c.fallback ?? 'rxpg';
      assert.deepEqual(Object.fromEntries(COLUMNS.map((name, index) => [name, actual.values[index]])), Object.fromEntries(COLUMNS.map((name, index) => [name, want[index]])));
      agreed++;
    });
  }

  it('connected most cases, so agreement is not only on failures (positive control)', (t) => {
    if (!psql) {
      if (process.env.RXPG_REQUIRE_PSQL === '1') assert.fail('RXPG_REQUIRE_PSQL=1 but psql was not found');
      t.skip('psql is not installed');
      return;
    }
    t.diagnostic(`${agreed} cases agreed on a session, ${bothFailed} failed on both`);
    assert.ok(agreed >= 30, `only ${agreed} cases connected on both`);
  });
});

