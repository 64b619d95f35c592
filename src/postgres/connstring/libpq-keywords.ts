import { ConfigurationError } from '../../errors/configuration-error.js';
import { didYouMean } from '../../util/nearest-name.js';

/** One libpq connection parameter as rxpg treats it. */
export interface LibpqKeyword {
  readonly name: string;
  /** The environment variable libpq reads for it, if any (34.15 Environment Variables). */
  readonly env: string | undefined;
  /**
   * `undefined`: supported. Otherwise rxpg cannot honour it, and this says what to do instead;
   * the parameter is refused unless its value is one of `harmless` (what rxpg does anyway,
   * usually libpq's own default).
   */
  readonly refusal: string | undefined;
  readonly harmless: readonly string[];
}

const supported = (name: string, env?: string): LibpqKeyword => ({ name, env, refusal: undefined, harmless: [] });
const refused = (name: string, env: string | undefined, refusal: string, harmless: readonly string[] = []): LibpqKeyword => ({ name, env, refusal, harmless });

const NO_GSS = 'rxpg authenticates with passwords (SCRAM, md5) and TLS client certificates, not GSSAPI or Kerberos';

/**
 * Every libpq connection keyword (PostgreSQL 18's list), in libpq's order: the ones rxpg
 * supports, and the ones it refuses by name with what to use instead.
 */
export const LIBPQ_KEYWORDS: readonly LibpqKeyword[] = [
  supported('service', 'PGSERVICE'),
  supported('user', 'PGUSER'),
  supported('password', 'PGPASSWORD'),
  supported('passfile', 'PGPASSFILE'),
  refused('channel_binding', 'PGCHANNELBINDING', "pg negotiates SCRAM channel binding by itself and cannot be made to require it; use sslmode=verify-full to be sure of the server", ['prefer', 'disable']),
  supported('connect_timeout', 'PGCONNECT_TIMEOUT'),
  supported('dbname', 'PGDATABASE'),
  supported('host', 'PGHOST'),
  supported('hostaddr', 'PGHOSTADDR'),
  supported('port', 'PGPORT'),
  supported('client_encoding', 'PGCLIENTENCODING'),
  supported('options', 'PGOPTIONS'),
  supported('application_name', 'PGAPPNAME'),
  supported('fallback_application_name'),
  supported('keepalives'),
  supported('keepalives_idle'),
  supported('keepalives_interval'),
  supported('keepalives_count'),
  refused('tcp_user_timeout', undefined, 'Node cannot set TCP_USER_TIMEOUT on a socket; rely on keepalives and the connectTimeout and statementTimeout options', ['0']),
  supported('sslmode', 'PGSSLMODE'),
  refused('requiressl', 'PGREQUIRESSL', 'it is deprecated in libpq; write sslmode=require (or verify-full) instead', ['0']),
  refused('sslcompression', 'PGSSLCOMPRESSION', 'TLS compression is disabled in every supported OpenSSL and Node; remove it', ['0']),
  supported('sslcert', 'PGSSLCERT'),
  supported('sslkey', 'PGSSLKEY'),
  refused('sslcertmode', 'PGSSLCERTMODE', 'rxpg sends the client certificate (sslcert) whenever the server asks for one, which is sslcertmode=allow', ['allow']),
  supported('sslpassword'),
  supported('sslrootcert', 'PGSSLROOTCERT'),
  supported('sslcrl', 'PGSSLCRL'),
  refused('sslcrldir', 'PGSSLCRLDIR', 'give the revocation list as one file with sslcrl'),
  refused('sslsni', 'PGSSLSNI', 'rxpg always sends the host name for SNI (sslsni=1)', ['1']),
  refused('sslnegotiation', 'PGSSLNEGOTIATION', 'rxpg negotiates TLS the standard way (sslnegotiation=postgres)', ['postgres']),
  refused('requirepeer', 'PGREQUIREPEER', "Node cannot read the peer credentials of a unix socket; restrict the socket's directory permissions instead"),
  refused('require_auth', 'PGREQUIREAUTH', "rxpg answers whichever password method the server asks for; make the server's pg_hba.conf require the method"),
  refused('ssl_min_protocol_version', 'PGSSLMINPROTOCOLVERSION', "give ssl: { minVersion: 'TLSv1.3' } (Node's tls options) instead", ['TLSv1.2']),
  refused('ssl_max_protocol_version', 'PGSSLMAXPROTOCOLVERSION', "give ssl: { maxVersion: 'TLSv1.2' } (Node's tls options) instead"),
  refused('min_protocol_version', 'PGMINPROTOCOLVERSION', 'rxpg speaks protocol 3.0', ['3.0']),
  refused('max_protocol_version', 'PGMAXPROTOCOLVERSION', 'rxpg speaks protocol 3.0', ['3.0']),
  refused('gssencmode', 'PGGSSENCMODE', `${NO_GSS}; encrypt with sslmode=verify-full instead`, ['disable', 'prefer']),
  refused('krbsrvname', 'PGKRBSRVNAME', `${NO_GSS}; remove it`, ['postgres']),
  refused('gsslib', 'PGGSSLIB', `${NO_GSS}; remove it`),
  refused('gssdelegation', 'PGGSSDELEGATION', `${NO_GSS}; remove it`, ['0']),
  refused('replication', undefined, 'rxpg is not a replication client; use a logical replication library (pg-logical-replication) for a walsender session', ['false', 'off', 'no', '0']),
  supported('target_session_attrs', 'PGTARGETSESSIONATTRS'),
  supported('load_balance_hosts', 'PGLOADBALANCEHOSTS'),
  refused('scram_client_key', undefined, 'give the password (or passfile) instead'),
  refused('scram_server_key', undefined, 'give the password (or passfile) instead'),
  refused('sslkeylogfile', 'PGSSLKEYLOGFILE', "listen to the TLS socket's 'keylog' event instead"),
  refused('oauth_issuer', undefined, 'rxpg does not implement OAuth authentication'),
  refused('oauth_client_id', undefined, 'rxpg does not implement OAuth authentication'),
  refused('oauth_client_secret', undefined, 'rxpg does not implement OAuth authentication'),
  refused('oauth_scope', undefined, 'rxpg does not implement OAuth authentication'),
];

const BY_NAME = new Map(LIBPQ_KEYWORDS.map((keyword) => [keyword.name, keyword]));

/** Keywords rxpg supports, for hints (the password's name is a keyword, not a secret). */
export const SUPPORTED_KEYWORDS: readonly string[] = LIBPQ_KEYWORDS.filter((keyword) => keyword.refusal === undefined).map((keyword) => keyword.name);

/**
 * Checks one keyword of a connection string or service file and returns its canonical name
 * (`database` is accepted as `dbname`, as node-postgres does). `where` says where it was read,
 * for the message ("connectionString parameter", "dsn keyword", "service file … line 3: keyword").
 * The value is only looked at for refused keywords, and never printed.
 */
export function checkKeyword(key: string, value: string, where: string, conn: string): string {
  const canonical = key === 'database' ? 'dbname' : key;
  const keyword = BY_NAME.get(canonical);
  if (keyword === undefined) {
    throw new ConfigurationError(
      `Connection '${conn}': ${where} '${key}' is not a libpq connection parameter${didYouMean(key, SUPPORTED_KEYWORDS)}; ` +
        `rxpg reads: ${SUPPORTED_KEYWORDS.join(', ')}.`,
      { conn },
    );
  }
  if (keyword.refusal !== undefined && !keyword.harmless.includes(value)) {
    throw new ConfigurationError(`Connection '${conn}': ${where} '${key}' is not supported by rxpg: ${keyword.refusal}.`, { conn });
  }
  return canonical;
}

/**
 * Checks the environment variables of refused parameters: one that asks for what rxpg cannot
 * do (PGGSSENCMODE=require, PGREQUIRESSL=1) is refused by name; a harmless value is ignored.
 */
export function checkRefusedEnvironment(env: NodeJS.ProcessEnv, conn: string): void {
  for (const keyword of LIBPQ_KEYWORDS) {
    if (keyword.refusal === undefined || keyword.env === undefined) continue;
    const value = env[keyword.env];
    if (value === undefined || value === '' || keyword.harmless.includes(value)) continue;
    throw new ConfigurationError(
      `Connection '${conn}': the environment sets ${keyword.env} (libpq's ${keyword.name}), which rxpg does not support: ${keyword.refusal}. Unset it for this process.`,
      { conn },
    );
  }
}
