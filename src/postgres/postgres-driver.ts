import type { Socket } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import pg from 'pg';
import { asyncScheduler, Observable } from 'rxjs';
import { describeTarget, type ConnectionParams, type ConnectionSource, type ResolvedConnection, type SessionSettings } from '../driver/connection-params.js';
import type { ClientCallWrapper, ConnectionHooks, TransactionSettings } from '../driver/driver.js';
import { SqlDriver } from '../driver/sql-driver.js';
import type { DriverConnection } from '../driver/driver-connection.js';
import type { StatementSummary } from '../driver/statement-sink.js';
import { ConnectionError } from '../errors/connection-error.js';
import { checkCopyBinaryTypes } from './copy/copy-binary-encoder.js';
import { isServerError, toRxpgError } from './pg-error.js';
import { isTransientConnectFailure } from './sqlstate-reason.js';
import { tapMessages } from './message-tap.js';
import { PgConnection, pgInternalsOf, type TapOutcome } from './pg-connection.js';
import { resolvePostgresParams } from './postgres-params.js';
import { connectToHosts } from './connect-to-hosts.js';
import { HostStatus } from './host-status.js';
import { reportedRole } from './role-change.js';
import { postgresParams, type PostgresHost, type SslMode } from './postgres-connection-params.js';
import { serverRole } from './server-role.js';
import { adoptConnected, requestSsl } from './ssl-request.js';
import { attemptsFor, buildTlsSetup, describeTlsFailure, serverNameFor, tlsOfParams, type TlsAttempt, type TlsSetup } from './tls-options.js';

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
  /** What recent connects learned about each host, for every config of this driver (see `hostRecheck`). */
  readonly #hostStatus = new HostStatus();
  /** Shared with every session of this driver, so that a change reaches the open ones too. */
  readonly #clientCalls: { wrap: ClientCallWrapper | undefined } = { wrap: undefined };

  constructor(options: PostgresDriverOptions = {}) {
    super();
    this.#messageTap = options.messageTap ?? process.env.RXPG_MESSAGE_TAP !== 'off';
  }

  checkCopyTypes(types: unknown, method: string): readonly string[] {
    return checkCopyBinaryTypes(types, method);
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


  /** Hands every session's statements to pg's `Client.query` through `wrap` (see the driver seam's `wrapClientCalls`). */
  wrapClientCalls(wrap: ClientCallWrapper | undefined): void {
    this.#clientCalls.wrap = wrap;
  }

  /** COMMIT of a transaction in which a statement failed completes with the tag ROLLBACK. */
  override committed(summary: StatementSummary): boolean {
    return summary.command !== 'ROLLBACK';
  }

  /**
   * Opens a session to the first host of the config's list that opens and suits its
   * target_session_attrs, as libpq does (see `connect-to-hosts.ts`).
   */
  connect(params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection> {
    const postgres = postgresParams(params);
    return connectToHosts<PgConnection>(postgres, { open: (host) => this.#connectHost(params, host, hooks), role: serverRole }, asyncScheduler, Math.random, {
      status: this.#hostStatus,
      recheckMillis: postgres.hostRecheckMillis,
      report: ({ host, outcome, why, processId }) =>
        hooks.onDriverEvent?.({ type: 'host', host: host.host, port: host.port, outcome, why, ...(processId === undefined ? {} : { processId }) }),
    });
  }

  /**
   * Opens a session to one host as libpq's sslmode says (see `tls-options.ts`): one attempt, or
   * two for `allow` (plain text, then TLS) and `prefer` (TLS, then plain text), the second only
   * when the first reached the server and failed there, as libpq retries. Both attempts run
   * inside this one subscription, so the host's connect deadline covers them together.
   */
  #connectHost(params: ConnectionParams, host: PostgresHost, hooks: ConnectionHooks): Observable<PgConnection> {
    const address = { host: host.hostaddr ?? host.host, port: host.port };
    const where = { user: params.user, database: params.database, host: host.host, port: host.port };
    const target = describeTarget(where);
    return new Observable<PgConnection>((subscriber) => {
      const tls = tlsOfParams(params);
      // The address dialled decides: a hostaddr is TCP even when host names a socket folder.
      const attempts = attemptsFor(tls.mode, host.hostaddr ?? host.host);
      const serverName = serverNameFor(host.host, host.hostaddr);
      // What the caller's unsubscribe must drop: the socket of the attempt under way.
      let current: { destroy(): void } | undefined;
      let opened = false;
      let earlier: { readonly kind: TlsAttempt; readonly error: unknown } | undefined;
      const fail = (error: unknown): void => subscriber.error(earlier === undefined ? error : withEarlierAttempt(error, earlier.kind, earlier.error));
      const attempt = (index: number): void => {
        const kind = attempts[index];
        let setup: TlsSetup | undefined;
        if (kind === 'tls') {
          try {
            setup = buildTlsSetup(tls, target);
          } catch (error) {
            // libpq counts a TLS attempt that cannot start (a key it cannot read) as failed:
            // prefer goes on in plain text.
            if (index + 1 === attempts.length) return fail(error);
            earlier = { kind, error };
            return attempt(index + 1);
          }
          if (attempts[index + 1] === 'plain') {
            // prefer asks for TLS itself, so that a server without it ('N') gets the startup on
            // the same connection, as libpq does.
            const asking = requestSsl(address);
            current = asking.socket;
            asking.answer.then(
              ({ socket, answer }) => {
                if (subscriber.closed) return socket.destroy();
                // A throw here would be an unhandled rejection: it fails the connect instead.
                try {
                  if (answer === 'S') open(index, setup, socket);
                  else open(index + 1, undefined, socket);
                } catch (error) {
                  socket.destroy();
                  fail(error);
                }
              },
              (error: unknown) => {
                if (subscriber.closed) return;
                const message = error instanceof Error ? error.message : String(error);
                fail(new ConnectionError(`could not connect to ${target}: ${message}`, { cause: error, isRetryable: true }));
              },
            );
            return;
          }
        }
        open(index, setup, undefined);
      };
      /** Attempt `index` on a new connection, or on `socket` where the server already answered SSLRequest. */
      const open = (index: number, setup: TlsSetup | undefined, socket: Socket | undefined): void => {
        const kind = attempts[index];
        const canFallBack = index + 1 < attempts.length;
        const client = new pg.Client({
          host: address.host,
          port: address.port,
          user: params.user,
          // No password found (given, PGPASSWORD, the password file): a function answering none,
          // so that pg does not read a password file of its own with other rules.
          password: params.password ?? host.password ?? noPassword,
          database: params.database,
          ssl: setup === undefined ? false : serverName === undefined ? setup.options : { ...setup.options, servername: serverName },
          // On a socket where the server said 'S', the handshake starts at once.
          // Said explicitly, so that PGSSLNEGOTIATION=direct in the environment cannot make pg refuse a plain session.
          sslnegotiation: socket !== undefined && setup !== undefined ? 'direct' : 'postgres',
          ...(socket === undefined ? {} : { stream: () => adoptConnected(socket) }),
          application_name: params.applicationName,
          keepAlive: params.keepAlive,
          keepAliveInitialDelayMillis: params.keepAliveInitialDelayMillis,
          statement_timeout: params.statementTimeoutMillis > 0 ? params.statementTimeoutMillis : undefined,
          // libpq's options, PGOPTIONS, PGTZ/PGDATESTYLE/PGGEQO and rxpg's isolation, built by resolvePostgresParams.
          options: postgresParams(params).options,
          // Given so that pg does not read PGCLIENTENCODING itself: rxpg speaks UTF8 (checked at createConn).
          client_encoding: 'utf8',
        });
        current = { destroy: () => destroySocket(client) };
        // Until PgConnection takes over, an error event must not crash the process.
        client.on('error', swallow);
        const tap = this.#prepareTap(client, kind === 'tls', hooks.now ?? Date.now);
        const askedForPassword = watchPasswordRequest(client);
        // The host's role as its server reports it, at startup and whenever it changes (a
        // promotion): the next connects of every config rank the host by what it is now.
        const reported = reportedParameters(client, (name) => {
          if (name !== 'in_hot_standby' && name !== 'default_transaction_read_only') return;
          const role = reportedRole(reported);
          if (role !== undefined) this.#hostStatus.up(host, role);
        });
        const connecting = client.connect();
        const progress = watchNegotiation(client, kind === 'tls', socket !== undefined);
        connecting.then(
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
              connection = new PgConnection(client, internals, tap(), params, hooks, reported, host.host);
              connection.clientCalls = this.#clientCalls;
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
            const failure = connectFailure(error, client, where, askedForPassword(), tls.mode, setup, progress);
            // libpq tries the other way only when this attempt reached the server: not after a
            // refused or timed-out TCP connect, and not after an answer to SSLRequest that is
            // neither 'S' nor 'N' (an error, or not Postgres at all).
            if (canFallBack && progress.reachedServer && (kind === 'plain' || progress.sslAnswer === 'S' || progress.sslAnswer === 'N')) {
              destroySocket(client);
              // A server without TLS answering 'N' is prefer's ordinary way to plain text, not a failure to report.
              earlier = progress.sslAnswer === 'N' ? undefined : { kind, error: failure };
              try {
                attempt(index + 1);
              } catch (thrown) {
                fail(thrown);
              }
              return;
            }
            fail(failure);
          },
        );
      };
      attempt(0);
      return () => {
        if (!opened) current?.destroy();
      };
    });
  }

  /**
   * Arranges for the message tap to be installed on the session's socket at the moment pg has
   * attached its parser and no byte has arrived yet: the connection's `connect` event (the
   * plain socket), or `sslconnect` (the TLS socket pg reads from after the upgrade). Returns
   * what became of it, to ask once the session is open.
   */
  #prepareTap(client: pg.Client, overTls: boolean, now: () => number): () => TapOutcome {
    if (!this.#messageTap) return () => 'off';
    const connection = (client as unknown as { connection?: { once?: unknown; stream?: unknown } }).connection;
    if (typeof connection?.once !== 'function') return () => ({ refused: "pg's Client has no connection to tap" });
    const event = overTls ? 'sslconnect' : 'connect';
    let outcome: TapOutcome = { refused: `pg never emitted '${event}', where the tap is installed` };
    (connection.once as (event: string, listener: () => void) => void).call(connection, event, () => {
      outcome = tapMessages(connection.stream, now);
    });
    return () => outcome;
  }
}

function swallow(): void {}

/** How far one connect attempt got, as libpq's fallbacks need to know. */
interface Negotiation {
  /** The TCP connection was made: a failure after it came from the server (or the TLS layer). */
  reachedServer: boolean;
  /** The server's one-byte answer to SSLRequest ('S' or 'N'; anything else is no Postgres answer). */
  sslAnswer: string | undefined;
  /** The server's certificate, read before Node checks it, so a refusal can say whose it was. */
  peer: PeerCertificate | undefined;
}

/**
 * Watches an attempt that `client.connect()` just started: pg's connection emits `connect` when
 * the TCP connection is made, the socket's first `data` is the answer to SSLRequest (pg reads it
 * with a `once` listener of its own, added in `connect()`, so this one sees the same bytes), and
 * the TLS socket made at `sslconnect` emits `secure` once the handshake is done, before Node's
 * own listener checks the certificate. Undocumented members, checked: a pg or Node without them
 * only makes the messages vaguer and the fallbacks rarer.
 */
function watchNegotiation(client: pg.Client, overTls: boolean, answeredS: boolean): Negotiation {
  // On a socket adopted after the server answered SSLRequest, the answer is known already.
  const state: Negotiation = { reachedServer: answeredS, sslAnswer: answeredS && overTls ? 'S' : undefined, peer: undefined };
  type Emitter = { once?: unknown; prependOnceListener?: unknown; getPeerCertificate?: unknown };
  const connection = (client as unknown as { connection?: Emitter & { stream?: Emitter } }).connection;
  if (typeof connection?.once !== 'function') return state;
  const once = (target: Emitter, event: string, listener: (value: never) => void): void => (target.once as (event: string, listener: (value: never) => void) => void).call(target, event, listener);
  once(connection, 'connect', () => (state.reachedServer = true));
  if (!overTls) return state;
  const socket = connection.stream;
  if (!answeredS && typeof socket?.once === 'function') once(socket, 'data', (chunk: Buffer) => (state.sslAnswer = chunk.toString('latin1', 0, 1)));
  once(connection, 'sslconnect', () => {
    const secure = connection.stream;
    if (typeof secure?.prependOnceListener !== 'function' || typeof secure.getPeerCertificate !== 'function') return;
    (secure.prependOnceListener as (event: string, listener: () => void) => void).call(secure, 'secure', () => {
      try {
        state.peer = (secure.getPeerCertificate as () => PeerCertificate).call(secure);
      } catch {
        // No certificate to tell of: the message says less.
      }
    });
  });
  return state;
}

/** A failed attempt as the typed error the caller gets (or that a fallback keeps for the report). */
function connectFailure(
  error: unknown,
  client: pg.Client,
  params: Pick<ConnectionParams, 'user' | 'database' | 'host' | 'port'>,
  passwordMethod: string | undefined,
  mode: SslMode,
  setup: TlsSetup | undefined,
  negotiation: Negotiation,
): ConnectionError {
  const target = describeTarget(params);
  if (setup !== undefined && negotiation.sslAnswer === 'N') {
    return new ConnectionError(
      mode === 'allow'
        ? `could not connect to ${target}: the server does not support SSL connections (sslmode=allow tried TLS after plain text failed).`
        : `could not connect to ${target}: the server does not support SSL connections, and sslmode=${mode} needs TLS. ` +
            `Turn ssl on at the server, or use sslmode=prefer (TLS when the server has it) or disable.`,
      { cause: error, isRetryable: false },
    );
  }
  if (setup !== undefined) {
    const tlsFailure = describeTlsFailure(error, setup, mode, negotiation.peer);
    if (tlsFailure !== undefined) return new ConnectionError(`could not connect to ${target}: ${tlsFailure}`, { cause: error, isRetryable: false });
  }
  const password = (client as unknown as { password?: unknown }).password;
  if (passwordMethod !== undefined && !isServerError(error) && (typeof password !== 'string' || password === '')) {
    // pg fails on its own ("client password must be a string"): no password was found
    // in the config, the connection string, PGPASSWORD or ~/.pgpass.
    return new ConnectionError(
      `could not connect to ${target}: the server asked for a password (${passwordMethod}) and none was given. ` +
        `Give one in the password option, the connection string, PGPASSWORD or ~/.pgpass.`,
      { reason: 'authentication', cause: error, isRetryable: false },
    );
  }
  const converted = toRxpgError(error);
  if (converted instanceof ConnectionError && converted.reason !== 'connection') return converted;
  return new ConnectionError(`could not connect to ${target}: ${converted.message.replace(/^connection lost: /, '')}`, {
    cause: error,
    sqlState: converted instanceof ConnectionError ? converted.sqlState : undefined,
    // Refused, reset or timed out may pass; what the server refused for a reason that
    // stays (a startup setting it rejects) does not.
    isRetryable: !isServerError(error) || isTransientConnectFailure(error.code),
  });
}

/** The last attempt's error, saying what the attempt before it (allow, prefer) ran into. */
function withEarlierAttempt(error: unknown, kind: TlsAttempt, earlier: unknown): unknown {
  if (!(error instanceof ConnectionError)) return error;
  const before = (earlier instanceof Error ? earlier.message : String(earlier)).replace(/^could not connect to \S+: /, '');
  return new ConnectionError(`${error.message.replace(/\.$/, '')} (the ${kind === 'tls' ? 'TLS' : 'plain-text'} attempt before it failed too: ${before})`, {
    reason: error.reason as 'connection',
    sqlState: error.sqlState,
    isRetryable: error.isRetryable,
    cause: error.cause,
    conn: error.conn,
  });
}

/** pg's password callback for a session rxpg found no password for (pg reads undefined as none; its types say string). */
const noPassword = (() => undefined) as unknown as () => string;

/**
 * What the server reports about itself during startup (ParameterStatus: server_version,
 * in_hot_standby, default_transaction_read_only, …), collected as pg reads it; pg keeps none.
 */
function reportedParameters(client: pg.Client, changed: (name: string) => void): Map<string, string> {
  const reported = new Map<string, string>();
  const connection = (client as unknown as { connection?: { on?: unknown } }).connection;
  if (typeof connection?.on === 'function') {
    (connection.on as (event: string, listener: (message: { parameterName?: unknown; parameterValue?: unknown }) => void) => void).call(
      connection,
      'parameterStatus',
      (message) => {
        if (typeof message?.parameterName !== 'string') return;
        reported.set(message.parameterName, String(message.parameterValue));
        changed(message.parameterName);
      },
    );
  }
  return reported;
}

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
