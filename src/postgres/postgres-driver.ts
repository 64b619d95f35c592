import pg from 'pg';
import { asyncScheduler, Observable } from 'rxjs';
import { describeTarget, type ConnectionParams, type ConnectionSource, type ResolvedConnection, type SessionSettings } from '../driver/connection-params.js';
import type { ConnectionHooks, TransactionSettings } from '../driver/driver.js';
import { SqlDriver } from '../driver/sql-driver.js';
import type { DriverConnection } from '../driver/driver-connection.js';
import type { StatementSummary } from '../driver/statement-sink.js';
import { ConnectionError } from '../errors/connection-error.js';
import { isServerError, toRxpgError } from './pg-error.js';
import { isTransientConnectFailure } from './sqlstate-reason.js';
import { tapMessages } from './message-tap.js';
import { PgConnection, pgInternalsOf, type TapOutcome } from './pg-connection.js';
import { connectToHosts } from './connect-to-hosts.js';
import { serverRole } from './server-role.js';
import { postgresParams, type PostgresHost } from './postgres-connection-params.js';
import { resolvePostgresParams } from './postgres-params.js';

/** Options of a {@link PostgresDriver}. */
export interface PostgresDriverOptions {
  /**
   * Read DataRow and NotificationResponse messages straight off the socket, ahead of pg's
   * parser (faster for large results and notification bursts). Default true, unless the
   * environment says `RXPG_MESSAGE_TAP=off`. When pg's socket does not look as the tap expects,
   * the session falls back to pg's parser by itself and a `fallback` event says so.
   */
  readonly messageTap?: boolean;
}

/**
 * The Postgres backend over `pg`'s Client (its protocol and auth; rxpg does its own pooling,
 * statement handling and cancel). PgManager uses it by default; pass it explicitly only to set
 * its options, or to wrap it.
 *
 * @example
 * ```ts
 * import { PgManager, PostgresDriver } from 'rxpg';
 *
 * const pgm = new PgManager({ driver: new PostgresDriver({ messageTap: false }) });
 * ```
 */
export class PostgresDriver extends SqlDriver {
  readonly dialect = 'postgres';
  readonly #messageTap: boolean;

  constructor(options: PostgresDriverOptions = {}) {
    super();
    this.#messageTap = options.messageTap ?? process.env.RXPG_MESSAGE_TAP !== 'off';
  }

  resolveConnection(source: ConnectionSource, settings: SessionSettings, conn: string): ResolvedConnection {
    return resolvePostgresParams(source, settings, conn);
  }

  beginTransaction(settings: TransactionSettings): string[] {
    let sql = 'BEGIN';
    if (settings.isolationLevel) sql += ` ISOLATION LEVEL ${settings.isolationLevel.replace('_', ' ').toUpperCase()}`;
    if (settings.readOnly !== undefined) sql += settings.readOnly ? ' READ ONLY' : ' READ WRITE';
    if (settings.deferrable !== undefined) sql += settings.deferrable ? ' DEFERRABLE' : ' NOT DEFERRABLE';
    return [sql];
  }


  /** COMMIT of a transaction in which a statement failed completes with the tag ROLLBACK. */
  override committed(summary: StatementSummary): boolean {
    return summary.command !== 'ROLLBACK';
  }

  connect(params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection> {
    // libpq's host list and target_session_attrs: the first host that opens and suits.
    return connectToHosts<PgConnection>(postgresParams(params), { open: (host) => this.#connectHost(params, host, hooks), role: serverRole }, asyncScheduler);
  }

  /** Opens one session to one host of the config's list. */
  #connectHost(params: ConnectionParams, host: PostgresHost, hooks: ConnectionHooks): Observable<PgConnection> {
    const target = describeTarget({ user: params.user, database: params.database, host: host.host, port: host.port });
    return new Observable<PgConnection>((subscriber) => {
      const client = new pg.Client({
        host: host.hostaddr ?? host.host,
        port: host.port,
        user: params.user,
        // No password found (given, PGPASSWORD, the password file): a function answering none,
        // so that pg does not read a password file of its own with other rules.
        password: params.password ?? host.password ?? noPassword,
        database: params.database,
        ssl: params.ssl as pg.ClientConfig['ssl'],
        application_name: params.applicationName,
        keepAlive: params.keepAlive,
        keepAliveInitialDelayMillis: params.keepAliveInitialDelayMillis,
        statement_timeout: params.statementTimeoutMillis > 0 ? params.statementTimeoutMillis : undefined,
        // libpq's options, PGOPTIONS, PGTZ/PGDATESTYLE/PGGEQO and rxpg's isolation, built by resolvePostgresParams.
        options: postgresParams(params).options,
        // Given so that pg does not read PGCLIENTENCODING itself: rxpg speaks UTF8 (checked at createConn).
        client_encoding: 'utf8',
      });
      // Until PgConnection takes over, an error event must not crash the process.
      const swallow = (): void => {};
      client.on('error', swallow);
      const tap = this.#prepareTap(client, params, hooks.now ?? Date.now);
      const askedForPassword = watchPasswordRequest(client);
      const reported = reportedParameters(client);
      let opened = false;
      client.connect().then(
        () => {
          if (subscriber.closed) {
            // Opened after the caller gave up: close it rather than keep a zombie.
            client.end().catch(swallow);
            return;
          }
          // Nothing here may throw: this runs as a promise's handler, where a throw would be an
          // unhandled rejection. A pg that changed what rxpg relies on fails the connect instead.
          let connection: PgConnection;
          try {
            const internals = pgInternalsOf(client);
            if ('missing' in internals) throw new Error(`this version of pg lacks ${internals.missing.join(', ')}`);
            connection = new PgConnection(client, internals, tap(), params, hooks, reported);
          } catch (error) {
            client.end().catch(swallow);
            subscriber.error(
              new ConnectionError(`rxpg cannot drive the session to ${target}: ${error instanceof Error ? error.message : String(error)}`, {
                cause: error,
              }),
            );
            return;
          }
          opened = true;
          client.removeListener('error', swallow);
          subscriber.next(connection);
          subscriber.complete();
        },
        (error: unknown) => {
          if (subscriber.closed) return;
          const method = askedForPassword();
          const password = (client as unknown as { password?: unknown }).password;
          if (method !== undefined && !isServerError(error) && (typeof password !== 'string' || password === '')) {
            // pg fails on its own ("client password must be a string"): no password was found
            // in the config, the connection string, PGPASSWORD or ~/.pgpass.
            subscriber.error(
              new ConnectionError(
                `could not connect to ${target}: the server asked for a password (${method}) and none was given. ` +
                  `Give one in the password option, the connection string, PGPASSWORD or ~/.pgpass.`,
                { reason: 'authentication', cause: error, isRetryable: false },
              ),
            );
            return;
          }
          const converted = toRxpgError(error);
          if (converted instanceof ConnectionError && converted.reason !== 'connection') {
            subscriber.error(converted);
            return;
          }
          subscriber.error(
            new ConnectionError(`could not connect to ${target}: ${converted.message.replace(/^connection lost: /, '')}`, {
              cause: error,
              sqlState: converted instanceof ConnectionError ? converted.sqlState : undefined,
              // Refused, reset or timed out may pass; what the server refused for a reason that
              // stays (a startup setting it rejects) does not.
              isRetryable: !isServerError(error) || isTransientConnectFailure(error.code),
            }),
          );
        },
      );
      return () => {
        if (!opened) destroySocket(client);
      };
    });
  }

  /**
   * Arranges for the message tap to be installed on the session's socket at the moment pg has
   * attached its parser and no byte has arrived yet: the connection's `connect` event (the
   * plain socket), or `sslconnect` (the TLS socket pg reads from after the upgrade). Returns
   * what became of it, to ask once the session is open.
   */
  #prepareTap(client: pg.Client, params: ConnectionParams, now: () => number): () => TapOutcome {
    if (!this.#messageTap) return () => 'off';
    const connection = (client as unknown as { connection?: { once?: unknown; stream?: unknown } }).connection;
    if (typeof connection?.once !== 'function') return () => ({ refused: "pg's Client has no connection to tap" });
    const event = params.ssl === false ? 'connect' : 'sslconnect';
    let outcome: TapOutcome = { refused: `pg never emitted '${event}', where the tap is installed` };
    (connection.once as (event: string, listener: () => void) => void).call(connection, event, () => {
      outcome = tapMessages(connection.stream, now);
    });
    return () => outcome;
  }
}

/**
 * What the server reports about itself during startup (ParameterStatus: server_version,
 * in_hot_standby, default_transaction_read_only, …), collected as pg reads it; pg keeps none.
 */
function reportedParameters(client: pg.Client): Map<string, string> {
  const reported = new Map<string, string>();
  const connection = (client as unknown as { connection?: { on?: unknown } }).connection;
  if (typeof connection?.on === 'function') {
    (connection.on as (event: string, listener: (message: { parameterName?: unknown; parameterValue?: unknown }) => void) => void).call(
      connection,
      'parameterStatus',
      (message) => {
        if (typeof message?.parameterName === 'string') reported.set(message.parameterName, String(message.parameterValue));
      },
    );
  }
  return reported;
}
/** pg's password callback for a session rxpg found no password for (pg reads undefined as none; its types say string). */
const noPassword = (() => undefined) as unknown as () => string;

/** Drops the socket of a client that is still connecting (an undocumented member, checked). */
function destroySocket(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  if (typeof stream?.destroy === 'function') stream.destroy();
}

/**
 * Notes whether the server asked for a password during the startup, and by which method (pg's
 * connection emits one event per authentication request; an undocumented member, checked).
 */
function watchPasswordRequest(client: pg.Client): () => string | undefined {
  const connection = (client as unknown as { connection?: { once?: unknown } }).connection;
  let method: string | undefined;
  if (typeof connection?.once === 'function') {
    const once = connection.once as (event: string, listener: () => void) => void;
    for (const [event, name] of [['authenticationSASL', 'SCRAM-SHA-256'], ['authenticationMD5Password', 'md5'], ['authenticationCleartextPassword', 'password']] as const) {
      once.call(connection, event, () => (method ??= name));
    }
  }
  return () => method;
}
