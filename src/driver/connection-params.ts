import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

/**
 * Where and how to open a session, as a driver resolved it from a connection config. The password
 * is kept non-enumerable by whoever builds this so that logging the params never prints it.
 * @category Driver seam
 */
export interface ConnectionParams {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string;
  readonly applicationName: string | undefined;
  /** TLS options as the driver takes them, `false` for none. */
  readonly ssl: boolean | Readonly<Record<string, unknown>>;
  /** TCP keepalive on the session's socket; initial delay in milliseconds. */
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelayMillis: number;
  /** Server-side default for every statement of this session, in milliseconds (0: none). */
  readonly statementTimeoutMillis: number;
  /** Isolation level of implicit and plain `BEGIN` transactions; undefined keeps the server's default. */
  readonly defaultIsolation: 'read committed' | 'repeatable read' | 'serializable' | undefined;
  /** Value parsers by type OID, overriding the driver's defaults for this config. */
  readonly typeParsers: ReadonlyMap<number, (text: string) => unknown>;
  /** Whether statements may be prepared under a name per session (`createConn`'s `prepare`); absent: yes. */
  readonly prepare?: boolean;
  /** What sits between the client and the server (`createConn`'s `pooler`); absent: `none`. */
  readonly pooler?: 'none' | 'session' | 'transaction';
}

/**
 * Where to connect, as one config gave it before any default: a URL, a keyword string, or
 * fields. What `copyDsn` copies. The password is non-enumerable.
 * @category Driver seam
 */
export interface ConnectionSource {
  /** A URL: `postgres://user:password@host:5432/db?sslmode=require&application_name=app`. */
  readonly connectionString?: string;
  /** A libpq keyword string: `host=127.0.0.1 port=5432 dbname=test user=postgres`. */
  readonly dsn?: string;
  readonly host?: string;
  /** libpq's numeric-address form of `host`. */
  readonly hostaddr?: string;
  readonly port?: number;
  readonly user?: string;
  /** Never printed: kept out of errors, events, `JSON.stringify` and `util.inspect`. */
  readonly password?: string;
  readonly database?: string;
  /** libpq's name for `database`. */
  readonly dbname?: string;
  /** TLS mode by name (libpq's `sslmode` for Postgres). */
  readonly sslmode?: string;
  /** TLS as the driver takes it: `true`, or Node `tls.connect` options. */
  readonly ssl?: boolean | TlsConnectionOptions;
}

/**
 * Settings of a config that shape every session but do not say where to connect. `undefined`
 * means the config did not set it: the connection string, then the environment, then the
 * driver's default decide.
 * @category Driver seam
 */
export interface SessionSettings {
  /** The config's explicit `applicationName`, which beats a connection string's. */
  readonly applicationName: string | undefined;
  /** What to report when neither the config, its connection string nor the environment names the application (libpq's `fallback_application_name`). */
  readonly fallbackApplicationName: string;
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelayMillis: number;
  readonly statementTimeoutMillis: number;
  readonly defaultIsolation: ConnectionParams['defaultIsolation'];
  /** Value parsers by type name or OID, as `createConn` took them. */
  readonly typeParsers: Readonly<Record<string, (text: string) => unknown>> | undefined;
  /** `createConn`'s `prepare`, its default applied. */
  readonly prepare: boolean;
  /** `createConn`'s `pooler`, its default applied. */
  readonly pooler: 'none' | 'session' | 'transaction';
  /** `createConn`'s `hostRecheck` in milliseconds; absent: the driver's default. */
  readonly hostRecheckMillis?: number;
  /**
   * The settings above that the config gave itself, which beat what a connection string says
   * (libpq's `keepalives`, `keepalives_idle`, `connect_timeout`); absent ones fall to the string,
   * the environment, then the defaults above.
   */
  readonly explicit?: {
    readonly keepAlive?: boolean;
    readonly keepAliveInitialDelayMillis?: number;
    readonly connectTimeoutSeconds?: number;
    /** `pooler` and `prepare` as the config (or the config it copied its address from) said them: a driver may infer them otherwise. */
    readonly pooler?: 'none' | 'session' | 'transaction';
    readonly prepare?: boolean;
  };
}

/**
 * A config's connection, resolved by its driver.
 *
 * @category Driver seam
 */
export interface ResolvedConnection {
  readonly params: ConnectionParams;
  /** A connect timeout the connection string gave (libpq's `connect_timeout`), in seconds. */
  readonly connectTimeoutSeconds: number | undefined;
  /**
   * How many attempts opening one session may take (a host list tried host by host, libpq's
   * connect timeout applying to each): the session's deadline is the timeout times this. Default 1.
   */
  readonly connectAttempts?: number;
}

/** A description of a target that is safe to print: never the password. */
export function describeTarget(params: Pick<ConnectionParams, 'host' | 'port' | 'user' | 'database'>): string {
  return `${params.user}@${params.host}:${params.port}/${params.database}`;
}
