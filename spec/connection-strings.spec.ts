// libpq's connection strings, environment, service file and password file, resolved without a
// server: what createConn makes of them (the libpq oracle spec checks the same against psql).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConfigurationError, type ConnOptions } from '../src/index.js';
import { resolveConnConfig, type ConnConfig } from '../src/manager/conn-config.js';
import { postgresParams, type PostgresConnectionParams } from '../src/postgres/postgres-connection-params.js';
import { PostgresDriver } from '../src/postgres/postgres-driver.js';
import { testPassword } from './support/secrets.js';

const SECRET = testPassword('connstring');
const dir = mkdtempSync(join(tmpdir(), 'rxpg-connstring-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with exactly these PG* variables (and HOME pointing at an empty folder unless given). */
function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('PG')) delete process.env[key];
  process.env.HOME = join(dir, 'no-home');
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

function config(options: ConnOptions, env: Record<string, string> = {}): ConnConfig {
  return withEnv(env, () =>
    resolveConnConfig(
      options,
      () => {
        throw new Error('no copyDsn here');
      },
      (source, settings, conn) => new PostgresDriver().resolveConnection(source, settings, conn),
    ),
  );
}

function params(options: ConnOptions, env: Record<string, string> = {}): PostgresConnectionParams {
  return postgresParams(config(options, env).params);
}

function refused(options: ConnOptions, pattern: RegExp, env: Record<string, string> = {}): string {
  let caught: unknown;
  try {
    config(options, env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigurationError, `expected a ConfigurationError for ${JSON.stringify(Object.keys(options))}, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes(SECRET), `the message must not contain the password: ${caught.message.replace(SECRET, '***')}`);
  return caught.message;
}

const hostsOf = (p: PostgresConnectionParams): string[] => p.hosts.map((h) => `${h.hostaddr ?? h.host}:${h.port}`);

function file(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe('URLs as libpq reads them', () => {
  it('reads host lists, IPv6 hosts and per-host ports (Node URL cannot)', () => {
    assert.deepEqual(hostsOf(params({ connectionString: 'postgresql://u@h1:5432,h2:5433/db' })), ['h1:5432', 'h2:5433']);
    assert.deepEqual(hostsOf(params({ connectionString: 'postgresql://h1,h2:5433/db' })), ['h1:5432', 'h2:5433'], 'an empty port entry is the default');
    assert.deepEqual(hostsOf(params({ connectionString: 'postgres://[::1]:5433,[fe80::2]/db' })), ['::1:5433', 'fe80::2:5432']);
    const p = params({ connectionString: 'postgresql://u@h1:6000,h2:6001/db' });
    assert.equal(p.host, 'h1', "params.host is the first host's");
    assert.equal(p.port, 6000);
  });

  it('reads a unix-socket folder as a percent-encoded host or as ?host=', () => {
    const encoded = params({ connectionString: 'postgresql://u@%2Fvar%2Frun%2Fpostgresql:5433/db' });
    assert.deepEqual(hostsOf(encoded), ['/var/run/postgresql:5433']);
    assert.equal(encoded.ssl, false, 'libpq ignores sslmode on a unix socket');
    assert.deepEqual(hostsOf(params({ connectionString: 'postgresql://u@localhost/db?host=/tmp' })), ['/tmp:5432'], 'the query beats the authority');
  });

  it('percent-decodes every part as bytes of UTF-8, and refuses bad encodings as libpq does', () => {
    const p = params({ connectionString: `postgresql://us%40er:${encodeURIComponent(SECRET)}%2F@h/d%2Fb%C3%A9?application_name=a%20b` });
    assert.equal(p.user, 'us@er');
    assert.equal(p.password, `${SECRET}/`);
    assert.equal(p.database, 'd/bé');
    assert.equal(p.applicationName, 'a b');
    refused({ connectionString: `postgresql://u:${SECRET}@h/te%zzst` }, /invalid percent-encoding/);
    refused({ connectionString: 'postgresql://h/te%00st' }, /%00/);
  });

  it('reads options, target_session_attrs, load_balance_hosts and ssl=true (all refused before)', () => {
    const p = params({ connectionString: 'postgresql://h/db?options=-c%20search_path%3Dapp&target_session_attrs=read-write&load_balance_hosts=random&ssl=true' });
    assert.equal(p.options, '-c search_path=app');
    assert.equal(p.targetSessionAttrs, 'read-write');
    assert.equal(p.loadBalanceHosts, 'random');
    assert.equal(p.tls.mode, 'require');
    refused({ connectionString: 'postgresql://h/db?target_session_attrs=read_write' }, /target_session_attrs 'read_write' .* is not one of .*did you mean 'read-write'/);
  });

  it('never shows the password of a URL whose password breaks the authority', () => {
    refused({ connectionString: `postgres://user:${SECRET}@host:notaport/db` }, /postgres:\/\/user:\*\*\*@host:notaport\/db/);
    // An unencoded '/' in the password: libpq reads 'user' as the host and the password's start as the port.
    refused({ connectionString: 'postgres://user:rxpg-test-secret-connstring/x@host/db' }, /port that is not an integer/);
  });
});

describe('keyword dsn as libpq reads it', () => {
  it('reads host, hostaddr and port lists with libpq rules', () => {
    assert.deepEqual(hostsOf(params({ dsn: 'host=a,b port=1,2' })), ['a:1', 'b:2']);
    assert.deepEqual(hostsOf(params({ dsn: 'host=a,b port=7' })), ['a:7', 'b:7'], 'one port serves every host');
    assert.deepEqual(hostsOf(params({ dsn: "host=a,,c port=',5433,'" })), ['a:5432', 'localhost:5433', 'c:5432'], 'empty entries are defaults');
    const both = params({ dsn: 'host=a,b hostaddr=127.0.0.1,::1' });
    assert.deepEqual(both.hosts.map((h) => [h.host, h.hostaddr]), [['a', '127.0.0.1'], ['b', '::1']]);
    refused({ dsn: 'host=a,b port=1,2,3' }, /could not match 3 port numbers to 2 hosts/);
    refused({ dsn: 'host=a,b hostaddr=127.0.0.1' }, /could not match 2 host names to 1 hostaddr values/);
    refused({ dsn: 'hostaddr=db.example' }, /hostaddr 'db.example' is not a numeric/);
  });

  it('passes options as given and appends the settings rxpg and the environment add, escaped', () => {
    assert.equal(params({ dsn: "host=h options='-c search_path=app'" }).options, '-c search_path=app');
    assert.equal(
      params({ dsn: "host=h options='-c search_path=app'", isolationLevel: 'read_committed' }).options,
      '-c search_path=app -c default_transaction_isolation=read\\ committed',
    );
    assert.equal(params({ host: 'h' }, { PGOPTIONS: '-c work_mem=8MB', PGTZ: 'America/New_York', PGDATESTYLE: 'ISO, DMY' }).options, '-c work_mem=8MB -c datestyle=ISO,\\ DMY -c timezone=America/New_York');
    assert.equal(params({ dsn: "host=h options='-c a.b=1'" }, { PGOPTIONS: '-c a.b=2' }).options, '-c a.b=1', 'the string beats PGOPTIONS');
    assert.equal(params({ host: 'h' }, { PGTZ: 'default' }).options, undefined, "PGTZ=default sends nothing, as in libpq");
  });

  it('reads keys libpq accepts (any non-space characters) so unknown ones get a did-you-mean', () => {
    refused({ dsn: `host=a password=${SECRET} sslmod=x` }, /'sslmod' is not a libpq connection parameter \(did you mean 'sslmode'\?\)/);
    refused({ connectionString: 'postgresql://h/db?aplication_name=x' }, /did you mean 'application_name'/);
    refused({ dsn: 'host=a ssl-mode=x' }, /did you mean 'sslmode'/);
  });
});

describe('refused libpq parameters, by name, with what to use instead', () => {
  const table: [string, RegExp][] = [
    ['gssencmode=require', /'gssencmode' is not supported by rxpg: .*not GSSAPI.*sslmode=verify-full/],
    ['krbsrvname=pg', /'krbsrvname' is not supported by rxpg: .*Kerberos/],
    ['gsslib=gssapi', /'gsslib' is not supported by rxpg: .*GSSAPI/],
    ['gssdelegation=1', /'gssdelegation' is not supported by rxpg: .*GSSAPI/],
    ['requiressl=1', /'requiressl' is not supported by rxpg: .*sslmode=require/],
    ['sslcompression=1', /'sslcompression' is not supported by rxpg: TLS compression/],
    ['replication=database', /'replication' is not supported by rxpg: rxpg is not a replication client/],
    ['channel_binding=require', /'channel_binding' is not supported by rxpg: .*sslmode=verify-full/],
    ['require_auth=scram-sha-256', /'require_auth' is not supported by rxpg: .*pg_hba.conf/],
    ['sslcrldir=/etc/crl', /'sslcrldir' is not supported by rxpg: .*sslcrl/],
    ['sslcertmode=require', /'sslcertmode' is not supported by rxpg: .*sslcertmode=allow/],
    ['sslsni=0', /'sslsni' is not supported by rxpg: .*SNI/],
    ['requirepeer=postgres', /'requirepeer' is not supported by rxpg: .*unix socket/],
    ['tcp_user_timeout=5000', /'tcp_user_timeout' is not supported by rxpg: .*keepalives/],
    ['ssl_min_protocol_version=TLSv1.3', /'ssl_min_protocol_version' is not supported by rxpg: .*minVersion/],
    ['ssl_max_protocol_version=TLSv1.2', /'ssl_max_protocol_version' is not supported by rxpg: .*maxVersion/],
    ['sslnegotiation=direct', /'sslnegotiation' is not supported by rxpg: .*sslnegotiation=postgres/],
    ['client_encoding=LATIN1', /client_encoding 'LATIN1' .* rxpg always reads and writes UTF8/],
  ];
  for (const [pair, pattern] of table) {
    it(`${pair} in a dsn and in a URL`, () => {
      refused({ dsn: `host=h ${pair}` }, pattern);
      refused({ connectionString: `postgresql://h/db?${pair}` }, pattern);
    });
  }

  it("accepts a refused parameter's harmless value (what rxpg does anyway)", () => {
    assert.equal(params({ dsn: 'host=h gssencmode=disable sslcompression=0 channel_binding=prefer krbsrvname=postgres client_encoding=UTF8' }).host, 'h');
  });

  it('refuses an environment variable that asks for what rxpg cannot do, and ignores a harmless one', () => {
    refused({ host: 'h' }, /the environment sets PGGSSENCMODE \(libpq's gssencmode\), which rxpg does not support/, { PGGSSENCMODE: 'require' });
    refused({ host: 'h' }, /PGREQUIRESSL.*sslmode=require/, { PGREQUIRESSL: '1' });
    refused({ host: 'h' }, /client_encoding 'SQL_ASCII' \(from the environment \(PGCLIENTENCODING\)\)/, { PGCLIENTENCODING: 'SQL_ASCII' });
    assert.equal(params({ host: 'h' }, { PGGSSENCMODE: 'disable', PGSSLCOMPRESSION: '0' }).host, 'h');
  });
});

describe("libpq's precedence: createConn field, then the string, then the service, then the environment, then the defaults", () => {
  it('reads every PG* variable of a supported parameter', () => {
    const p = params(
      {},
      {
        PGHOST: 'envhost,envhost2', PGPORT: '6001', PGUSER: 'envuser', PGDATABASE: 'envdb', PGAPPNAME: 'envapp', PGSSLMODE: 'require',
        PGCONNECT_TIMEOUT: '7', PGTARGETSESSIONATTRS: 'read-only', PGLOADBALANCEHOSTS: 'random', PGSSLROOTCERT: '/ca.pem', PGSSLCERT: '/c.pem',
        PGSSLKEY: '/k.pem', PGSSLCRL: '/crl.pem', PGOPTIONS: '-c search_path=env', PGPASSWORD: SECRET,
      },
    );
    assert.deepEqual(hostsOf(p), ['envhost:6001', 'envhost2:6001']);
    assert.deepEqual([p.user, p.database, p.applicationName, p.password], ['envuser', 'envdb', 'envapp', SECRET]);
    assert.deepEqual([p.tls.mode, p.tls.rootCert, p.tls.cert, p.tls.key, p.tls.crl], ['require', '/ca.pem', '/c.pem', '/k.pem', '/crl.pem']);
    assert.deepEqual(p.ssl, { rejectUnauthorized: false }, 'PGSSLMODE reaches the current connect path');
    assert.deepEqual([p.targetSessionAttrs, p.loadBalanceHosts, p.connectTimeoutSeconds, p.options], ['read-only', 'random', 7, '-c search_path=env']);
    assert.equal(config({}, { PGCONNECT_TIMEOUT: '7' }).connectTimeoutMillis, 7000);
    assert.equal(params({ hostaddr: '127.0.0.1' }, { PGHOSTADDR: '::1' }).host, '127.0.0.1');
    assert.equal(params({}, { PGHOSTADDR: '::1' }).host, '::1');
  });

  it('the string beats the environment, the field beats the string', () => {
    const env = { PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '9', PGAPPNAME: 'envapp', PGUSER: 'envuser', PGDATABASE: 'envdb', PGPORT: '6001' };
    const fromString = config({ dsn: 'host=h port=6002 user=u dbname=d sslmode=disable connect_timeout=5 application_name=dsnapp keepalives=0 keepalives_idle=3' }, env);
    assert.deepEqual(
      [fromString.params.port, fromString.params.user, fromString.params.database, postgresParams(fromString.params).tls.mode, fromString.connectTimeoutMillis, fromString.params.applicationName],
      [6002, 'u', 'd', 'disable', 5000, 'dsnapp'],
    );
    assert.deepEqual([fromString.params.keepAlive, fromString.params.keepAliveInitialDelayMillis], [false, 3000]);
    const fields = config(
      { dsn: 'host=h sslmode=disable connect_timeout=5 application_name=dsnapp keepalives=0 keepalives_idle=3', sslmode: 'verify-full', connectTimeout: 4, applicationName: 'fieldapp', keepAlive: true, keepAliveInitialDelay: 2000 },
      env,
    );
    const p = postgresParams(fields.params);
    assert.deepEqual([p.tls.mode, fields.connectTimeoutMillis, p.connectTimeoutSeconds, p.applicationName, p.keepAlive, p.keepAliveInitialDelayMillis], ['verify-full', 4000, 4, 'fieldapp', true, 2000]);
    const emptyDb = params({ dsn: "host=h user=u dbname=''" }, env);
    assert.equal(emptyDb.database, 'u', "an empty dbname in the string blocks PGDATABASE and means the user's name, as in libpq");
  });

  it('connect_timeout as libpq: an integer, 0 or less for none, 1 read as 2', () => {
    assert.equal(params({ dsn: 'host=h connect_timeout=1' }).connectTimeoutSeconds, 2);
    assert.equal(params({ dsn: 'host=h connect_timeout=0' }).connectTimeoutSeconds, undefined);
    refused({ dsn: 'host=h connect_timeout=1.5' }, /connect_timeout must be an integer/);
    refused({ host: 'h' }, /PGCONNECT_TIMEOUT\)'s connect_timeout is in seconds.*did you mean 10\?/, { PGCONNECT_TIMEOUT: '10000' });
  });
});

describe('the connection service file', () => {
  const services = file(
    'services.conf',
    '# services\n[app]\nhost=svchost\nport=6100\ndbname=svcdb\napplication_name=svcapp\noptions=-c search_path=svc\nhost=ignored\n\n[bad]\nfoo=bar\n[nested]\nservice=app\n[refused]\ngssencmode=require\n',
  );
  const sysconf = mkdtempSync(join(dir, 'sysconf-'));
  writeFileSync(join(sysconf, 'pg_service.conf'), '[sys]\nhost=syshost\n[app]\nhost=never-read\n');

  it('reads PGSERVICEFILE: below the string, above the environment; the first value in a service wins', () => {
    const p = params({ dsn: 'service=app dbname=own' }, { PGSERVICEFILE: services, PGAPPNAME: 'envapp', PGHOST: 'envhost', PGUSER: 'envuser' });
    assert.deepEqual(hostsOf(p), ['svchost:6100']);
    assert.deepEqual([p.database, p.applicationName, p.user, p.options], ['own', 'svcapp', 'envuser', '-c search_path=svc']);
    assert.deepEqual(hostsOf(params({ connectionString: 'postgresql://?service=app' }, { PGSERVICEFILE: services })), ['svchost:6100']);
    assert.deepEqual(hostsOf(params({}, { PGSERVICE: 'app', PGSERVICEFILE: services })), ['svchost:6100'], 'PGSERVICE names it too');
  });

  it('looks in ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf, stopping at the first file that has the service', () => {
    const home = mkdtempSync(join(dir, 'home-'));
    writeFileSync(join(home, '.pg_service.conf'), '[app]\nhost=homehost\n');
    assert.deepEqual(hostsOf(params({ dsn: 'service=app' }, { HOME: home, PGSYSCONFDIR: sysconf })), ['homehost:5432']);
    assert.deepEqual(hostsOf(params({ dsn: 'service=sys' }, { HOME: home, PGSYSCONFDIR: sysconf })), ['syshost:5432']);
  });

  it("says what is wrong as libpq does", () => {
    refused({ dsn: 'service=none' }, /definition of service "none" not found/, { PGSERVICEFILE: services });
    refused({ dsn: 'service=app' }, /service file ".*missing.conf" \(PGSERVICEFILE\) not found/, { PGSERVICEFILE: join(dir, 'missing.conf') });
    refused({ dsn: 'service=bad' }, /line 11: keyword 'foo' is not a libpq connection parameter/, { PGSERVICEFILE: services });
    refused({ dsn: 'service=nested' }, /nested service specifications not supported/, { PGSERVICEFILE: services });
    refused({ dsn: 'service=refused' }, /'gssencmode' is not supported by rxpg/, { PGSERVICEFILE: services });
  });
});

describe('the password file', () => {
  const passfile = file(
    'pgpass',
    ['# comment', `h1:5432:db:u:${SECRET}-h1`, 'h2:*:db:u:pa\\:ss\\\\word', 'h\\:3:5432:*:*:escaped-host', `*:*:*:u:${SECRET}-any`, ''].join('\n'),
  );

  it('gives each host the first matching line, with * and \\ escapes, only when no password was given', () => {
    const p = params({ dsn: `host=h1,h2,h:3,other user=u dbname=db passfile=${passfile}` });
    assert.deepEqual(
      p.hosts.map((h) => h.password === undefined ? undefined : h.password.replace(SECRET, 'S')),
      ['S-h1', 'pa:ss\\word', 'escaped-host', 'S-any'],
    );
    assert.equal(p.password, undefined, 'params.password is only a given one: each host keeps its own line');
    assert.equal(params({ dsn: 'host=h2 user=u dbname=db' }, { PGPASSFILE: passfile }).hosts[0].password, 'pa:ss\\word', 'PGPASSFILE names it too');
    assert.equal(params({ dsn: 'host=h1 user=u dbname=db password=given' }, { PGPASSFILE: passfile }).password, 'given');
    assert.equal(params({ dsn: 'host=h1 user=u dbname=db' }, { PGPASSFILE: passfile, PGPASSWORD: 'fromenv' }).password, 'fromenv', 'PGPASSWORD comes before the file');
    assert.equal(params({ dsn: 'host=h1 user=nobody dbname=db' }, { PGPASSFILE: passfile }).hosts[0].password, undefined);
    const home = mkdtempSync(join(dir, 'home-'));
    writeFileSync(join(home, '.pgpass'), 'localhost:5432:*:*:from-home\n', { mode: 0o600 });
    assert.equal(params({ dsn: 'user=u' }, { HOME: home }).hosts[0].password, 'from-home', '~/.pgpass, with localhost for no host');
  });

  it('ignores a file that group or others can read, with a warning, as libpq does', async () => {
    const open = file('pgpass-open', `*:*:*:*:${SECRET}\n`, 0o640);
    const warnings: string[] = [];
    const listener = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', listener);
    try {
      assert.equal(params({ dsn: 'host=h user=u' }, { PGPASSFILE: open }).hosts[0].password, undefined);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /password file ".*pgpass-open" has group or world access; permissions should be u=rw \(0600\) or less/);
  });

  it('keeps passwords out of util.inspect and JSON of the params and their hosts', () => {
    const p = params({ dsn: `host=h1,h2 user=u dbname=db passfile=${passfile} sslpassword=${SECRET}` });
    assert.equal(p.tls.keyPassword, SECRET);
    for (const text of [inspect(p, { depth: 10 }), JSON.stringify(p), inspect(p.hosts, { depth: 10 })]) assert.ok(!text.includes(SECRET));
  });

  it('gives each host of a list its own password-file line, and the params no password of a host', () => {
    const passfile = join(dir, 'pgpass-two-hosts');
    writeFileSync(passfile, `db1:5432:*:u:${SECRET}-one\ndb2:5432:*:u:${SECRET}-two\n`, { mode: 0o600 });
    const p = params({ dsn: `host=db1,db2 user=u dbname=db passfile=${passfile}` });
    assert.equal(p.password, undefined, 'no password given: each host has its own');
    assert.deepEqual(p.hosts.map((host) => host.password), [`${SECRET}-one`, `${SECRET}-two`]);
    const given = params({ dsn: `host=db1,db2 user=u dbname=db passfile=${passfile} password=${SECRET}-given` });
    assert.equal(given.password, `${SECRET}-given`, 'a given password is every host\'s');
  });

  it('lets the config\'s own ssl field beat an sslmode from the string or the environment', () => {
    assert.equal(params({ host: 'h', ssl: true }, { PGSSLMODE: 'disable' }).tls.mode, 'verify-full');
    assert.equal(params({ connectionString: 'postgres://u@h/db?sslmode=prefer', ssl: { rejectUnauthorized: false } }).tls.mode, 'require');
    assert.equal(params({ host: 'h', ssl: false }, { PGSSLMODE: 'require' }).tls.mode, 'disable');
    assert.equal(params({ host: 'h', ssl: { rejectUnauthorized: false }, sslmode: 'verify-ca' }).tls.mode, 'verify-ca', 'the config\'s own sslmode goes with it');
    assert.equal(params({ host: 'h' }, { PGSSLMODE: 'require' }).tls.mode, 'require', 'positive control: without ssl, PGSSLMODE counts');
  });

  it('never shows a fragment of a password in a parse error', () => {
    const dsnError = refused({ dsn: `host=h password=${SECRET} topsecret${SECRET.slice(0, 4)}` }, /dsn is malformed/);
    assert.ok(!dsnError.includes('topsecret'), dsnError);
    const urlError = refused({ connectionString: `postgres://u@h/db?password=abc&topsecret${SECRET.slice(0, 4)}` }, /query parameter without "="/);
    assert.ok(!urlError.includes('topsecret'), urlError);
  });
});
