import type { ConnectionSource } from '../driver/connection-params.js';

/**
 * Isolation level of a connection config. `autocommit` runs every statement on its own and makes
 * `cursor()` scopes non-transactional; the others make `cursor()` a transaction at that level and
 * become the session's `default_transaction_isolation`.
 */
export type IsolationLevel = 'autocommit' | 'read_committed' | 'repeatable_read' | 'serializable';

/**
 * What sits between rxpg and the server, as far as sessions go. `transaction`: a pooler in
 * transaction mode (PgBouncer `pool_mode = transaction`, RDS Proxy, Supavisor's transaction port)
 * hands each transaction to whichever server connection is free, so nothing outlives a transaction:
 * not a prepared statement, a SET, a temporary table, a session advisory lock or a LISTEN.
 * `session` (a session-mode pooler) and `none` (the server itself) keep one server session per
 * rxpg session.
 */
export type Pooler = 'none' | 'session' | 'transaction';

/** libpq's `sslmode` values. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/**
 * Options of {@link PgManager.createConn}. Connection parameters come from exactly one of
 * `connectionString`, `dsn`, `copyDsn` or the fields (`host`, `port`, `user`, `password`,
 * `database`); fields may be added to `copyDsn` to override what is copied. Durations are whole
 * milliseconds up to 2147483647 (2^31−1, about 24.8 days: Node's timers and Postgres'
 * `statement_timeout` stop there), except `connectTimeout`, which is in seconds as in PgManager
 * and libpq.
 */
export interface ConnOptions extends ConnectionSource {
  /** Name to register under; `default` when omitted. */
  readonly name?: string;
  /** Copy the connection parameters of another registered config. */
  readonly copyDsn?: string;
  /** libpq's `sslmode`. */
  readonly sslmode?: SslMode;
  /** Default `autocommit`. */
  readonly isolationLevel?: IsolationLevel;
  /** Run once on every new session before it is first leased (`SET search_path TO app`). */
  readonly initStatement?: string;
  /**
   * Seconds (libpq's `connect_timeout` unit, fractions allowed) for one session to open: DNS,
   * TCP, TLS, authentication, `initStatement`. Default 30, at most 3600: a larger value is
   * refused as milliseconds by mistake.
   */
  readonly connectTimeout?: number;
  /** Server-side `statement_timeout` for every statement of this config, in milliseconds. Default none. */
  readonly statementTimeout?: number;
  /**
   * Shown in `pg_stat_activity.application_name`. Beats the connection string's
   * `application_name`, which beats `PGAPPNAME`; `rxpg` when none of them says (libpq's
   * `fallback_application_name`).
   */
  readonly applicationName?: string;
  /**
   * Named prepared statements: `true` parses each parameterised statement once per session as
   * `rxpg_N` and then only binds it; `false` sends it unnamed each time (Parse/Bind/Execute with
   * the empty name, parameters still bound, never interpolated), which any pooler passes through.
   * Default `true`, or `false` with `pooler: 'transaction'`. When a named statement fails
   * because the server connection does not have it (SQLSTATE 26000) or already has another
   * under its name (42P05), as behind a transaction pooler, rxpg switches the config to
   * unnamed statements by itself, runs the statement again when it was outside a transaction
   * (else the error is retryable) and emits one `fallback` event that names this option.
   */
  readonly prepare?: boolean;
  /**
   * What sits between rxpg and the server (see {@link Pooler}). Default `none`, or what the
   * `copyDsn` config says when no host, hostaddr or port overrides it. `transaction` makes
   * `prepare` default to false, skips the reset of a session a lease changed (the state is on
   * some server connection rxpg cannot reach), and is refused by `createConnListen`: LISTEN needs
   * a session of its own.
   */
  readonly pooler?: Pooler;
  /** Maximum sessions of this config's pool. Default 10. */
  readonly poolSize?: number;
  /**
   * How many independent callers' statements may share one session's pipeline when every
   * session of the pool is busy: a `query()` or `command()` with parameters, outside any
   * transaction, connection or cursor scope, is then sent behind the statements in flight on the
   * least busy session (each with its own Sync, so each succeeds or fails alone) instead of
   * waiting for a lease, as long as no lease request waits. Default 1: off, one statement per
   * session. Only row statements (SELECT, INSERT, UPDATE, DELETE, WITH, VALUES, TABLE) that name
   * no set_config, temporary table or session advisory lock share a pipeline, on a session in its
   * config's state, and go behind others only once the session has run their text; not behind a
   * transaction pooler, nor with `prepare: false`. A pipelined statement unsubscribed while
   * others are in flight with it is not cancelled (the cancel could stop a neighbour's
   * statement): it runs on, its rows dropped, until every statement in flight is abandoned. Its
   * timeout counts from when its turn comes, and one with a time limit goes only behind
   * statements that have one too. A slow statement delays those pipelined behind it, so keep it
   * for short statements. Postgres only (MyManager ignores it).
   */
  readonly pipeline?: number;
  /** Maximum lease requests waiting in the queue; more fail at once with `pool_full`. Default 10000. */
  readonly maxWaiting?: number;
  /** One deadline for a lease request: queue, connect and `initStatement`. Default 30000. */
  readonly acquireTimeout?: number;
  /** Close a session idle this long. Default 30000; 0 keeps idle sessions open. */
  readonly idleTimeout?: number;
  /** Close a session this old when it is next released. Default 0 (no limit). */
  readonly maxLifetime?: number;
  /** TCP keepalive on every session. Default true. */
  readonly keepAlive?: boolean;
  /** Idle time before the first keepalive probe. Default 10000. */
  readonly keepAliveInitialDelay?: number;
  /**
   * Value parsers overriding the driver's defaults, by type name (`int8`, `numeric`,
   * `timestamptz`, …) or OID: `{ int8: BigInt }` reads bigint columns as `bigint`.
   */
  readonly typeParsers?: Readonly<Record<string, (text: string) => unknown>>;
  /**
   * With several hosts (`host=a,b`, `postgresql://a,b/db`): how long, in milliseconds, what a
   * connect learned about a host orders the next connects, as pgjdbc's `hostRecheckSeconds`. A
   * host that refused or timed out is tried after every other host, and one of the wrong kind
   * (a standby, for `target_session_attrs=read-write`) after the ones that may suit; no host is
   * ever skipped when the others fail. Shared by every config of the manager. Default 10000; 0
   * remembers nothing (libpq's behaviour: every connect tries the hosts in order).
   */
  readonly hostRecheck?: number;
}

/** Every key {@link ConnOptions} accepts, for validation and "did you mean" hints. */
export const CONN_OPTION_KEYS: readonly (keyof ConnOptions)[] = [
  'name', 'connectionString', 'dsn', 'copyDsn', 'host', 'hostaddr', 'port', 'user', 'password', 'database',
  'dbname', 'sslmode', 'ssl', 'isolationLevel', 'initStatement', 'connectTimeout', 'statementTimeout',
  'applicationName', 'poolSize', 'maxWaiting', 'acquireTimeout', 'idleTimeout', 'maxLifetime', 'keepAlive',
  'keepAliveInitialDelay', 'typeParsers', 'prepare', 'pooler', 'hostRecheck', 'pipeline',
];

/** The keys that say where to connect; `copyDsn` copies exactly these. */
export const CONNECTION_FIELD_KEYS = ['host', 'hostaddr', 'port', 'user', 'password', 'database', 'dbname', 'sslmode', 'ssl'] as const;

