import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ConnectionParams } from '../driver/connection-params.js';
import type { SslMode } from '../manager/conn-options.js';

/** libpq's `sslmode`: the createConn option's type. */
export type { SslMode };

/** `hostRecheck`'s default: pgjdbc's `hostRecheckSeconds` (10 s). */
export const DEFAULT_HOST_RECHECK_MILLIS = 10_000;

/** libpq's `target_session_attrs`. */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby';

/** One entry of libpq's `host`/`hostaddr`/`port` lists. */
export interface PostgresHost {
  /** The name to connect to (and to verify the certificate against): a host name, an address or a unix-socket directory. */
  readonly host: string;
  /** libpq's `hostaddr`: the numeric address to connect to instead of resolving `host`. */
  readonly hostaddr: string | undefined;
  readonly port: number;
  /**
   * The password for this host: the one given, else the password file's line for this host,
   * port, database and user (libpq looks it up per host). Non-enumerable, never printed.
   */
  readonly password?: string;
}

/** TLS as libpq's parameters say it, for one config. */
export interface PostgresTls {
  readonly mode: SslMode;
  /** `sslrootcert`: a file of trusted CA certificates, or `system` for the system's store. */
  readonly rootCert: string | undefined;
  /** `sslcert` and `sslkey`: the client certificate and its key, as file paths. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** `sslpassword`: the key's passphrase (non-enumerable, never printed). */
  readonly keyPassword: string | undefined;
  /** `sslcrl`: a file of revoked certificates. */
  readonly crl: string | undefined;
  /** Node `tls.connect` options a config gave as `ssl: { … }`; they take precedence over the files. */
  readonly node: Readonly<TlsConnectionOptions> | undefined;
}

/**
 * What the Postgres driver connects with: the generic params (whose `host`/`port` are the first
 * host's) plus everything libpq's parameters add. `resolvePostgresParams` builds it; the driver's
 * `connect` receives it back as the `ConnectionParams` it returned.
 */
export interface PostgresConnectionParams extends ConnectionParams {
  readonly hosts: readonly PostgresHost[];
  readonly tls: PostgresTls;
  /** The startup `options` string (`-c name=value …`): from `options`, `PGOPTIONS` and settings rxpg adds. */
  readonly options: string | undefined;
  readonly targetSessionAttrs: TargetSessionAttrs;
  readonly loadBalanceHosts: 'disable' | 'random';
  /** libpq's `connect_timeout` in seconds, per host attempt; undefined for none. */
  readonly connectTimeoutSeconds: number | undefined;
  /** How long a host's state (down, or its kind of server) orders later connects (`createConn`'s `hostRecheck`); 0 for never. */
  readonly hostRecheckMillis: number;
  /** The Neon pooled host `pooler: 'transaction'` was inferred from, when the config did not say (see `neon-pooler.ts`). */
  readonly poolerInferredFrom?: string;
}

/**
 * The Postgres params behind a `ConnectionParams` this driver resolved; libpq's defaults (one
 * host, `any`, no load balancing, TLS from the generic `ssl` field) for what params made
 * elsewhere (a test, a wrapper) leave out.
 */
export function postgresParams(params: ConnectionParams): PostgresConnectionParams {
  const given = params as Partial<PostgresConnectionParams> & ConnectionParams;
  if (
    given.hosts !== undefined &&
    given.tls !== undefined &&
    given.targetSessionAttrs !== undefined &&
    given.loadBalanceHosts !== undefined &&
    given.hostRecheckMillis !== undefined
  ) {
    return given as PostgresConnectionParams;
  }
  const full = {
    ...params,
    hosts: given.hosts ?? [{ host: params.host, hostaddr: undefined, port: params.port }],
    tls: given.tls ?? {
      mode: params.ssl === false ? 'disable' : 'require',
      rootCert: undefined,
      cert: undefined,
      key: undefined,
      keyPassword: undefined,
      crl: undefined,
      node: typeof params.ssl === 'object' ? params.ssl : undefined,
    },
    options: given.options,
    targetSessionAttrs: given.targetSessionAttrs ?? 'any',
    loadBalanceHosts: given.loadBalanceHosts ?? 'disable',
    connectTimeoutSeconds: given.connectTimeoutSeconds,
    hostRecheckMillis: given.hostRecheckMillis ?? DEFAULT_HOST_RECHECK_MILLIS,
  } satisfies Omit<PostgresConnectionParams, 'password'>;
  // The password stays non-enumerable: spreading skipped it.
  Object.defineProperty(full, 'password', { value: params.password, enumerable: false });
  return full as PostgresConnectionParams;
}
