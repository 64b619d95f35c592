import mysql from 'mysql2';
import { Observable } from 'rxjs';
import { describeTarget, type ConnectionParams, type ConnectionSource, type ResolvedConnection, type SessionSettings } from '../driver/connection-params.js';
import type { ConnectionHooks, TransactionSettings } from '../driver/driver.js';
import { SqlDriver } from '../driver/sql-driver.js';
import type { DriverConnection } from '../driver/driver-connection.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { ConnectionError } from '../errors/connection-error.js';
import { MysqlConnection, type MysqlConnectOptions } from './mysql-connection.js';
import { reasonForMysqlError } from './errno-reason.js';
import { toRxpgMysqlError } from './mysql-error.js';
import { resolveMysqlParams } from './mysql-params.js';

/**
 * The MySQL/MariaDB backend over mysql2's connection (rxpg pools, cancels and streams itself).
 * MyManager uses it by default; pass it explicitly only to wrap or replace it.
 *
 * @example
 * ```ts
 * import { MyManager, MysqlDriver } from 'rxpg/mysql';
 *
 * const mym = new MyManager({ driver: new MysqlDriver() });
 * ```
 * @see {@link MyManager}
 */
export class MysqlDriver extends SqlDriver {
  readonly dialect = 'mysql';

  /** MySQL's LOAD DATA reads text only: copyFrom()'s `types` (COPY's binary format) has no counterpart. */
  checkCopyTypes(_types: unknown, method: string): never {
    throw new ConfigurationError(
      `${method}: types is a PostgreSQL option (COPY's binary format); MyManager's copyFrom() feeds LOAD DATA LOCAL INFILE, which has no binary format. ` +
        'Leave types out: rows are sent as LOAD DATA text, which every column type reads.',
    );
  }

  resolveConnection(source: ConnectionSource, settings: SessionSettings, conn: string): ResolvedConnection {
    return resolveMysqlParams(source, settings, conn);
  }

  beginTransaction(settings: TransactionSettings): string[] {
    if (settings.deferrable !== undefined) {
      throw new ConfigurationError('transaction: deferrable is a PostgreSQL option; MySQL has no deferrable transactions.');
    }
    const statements: string[] = [];
    if (settings.isolationLevel) statements.push(`SET TRANSACTION ISOLATION LEVEL ${settings.isolationLevel.replace('_', ' ').toUpperCase()}`);
    statements.push(`START TRANSACTION${settings.readOnly === undefined ? '' : settings.readOnly ? ' READ ONLY' : ' READ WRITE'}`);
    return statements;
  }


  connect(params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection> {
    return new Observable<DriverConnection>((subscriber) => {
      const options: MysqlConnectOptions = {
        host: params.host,
        port: params.port,
        user: params.user,
        password: params.password,
        database: params.database || undefined,
        ssl: params.ssl === false ? undefined : params.ssl === true ? {} : (params.ssl as MysqlConnectOptions['ssl']),
        // Exact integers: mysql2 gives unsafe ones as strings and MysqlConnection turns the safe
        // ones of BIGINT columns into strings too, as pg gives int8: never a rounded number.
        supportBigNumbers: true,
        bigNumberStrings: false,
        // Prepared statements are cached per session (closed when evicted). The server's limit,
        // max_prepared_stmt_count (16,382 by default), is shared by every session it has.
        maxPreparedStatements: 128,
        enableKeepAlive: params.keepAlive,
        keepAliveInitialDelay: params.keepAliveInitialDelayMillis,
        connectAttributes: params.applicationName ? { program_name: params.applicationName } : undefined,
      };
      Object.defineProperty(options, 'password', { value: params.password, enumerable: false });
      const connection = mysql.createConnection(options);
      const swallow = (): void => {};
      connection.on('error', swallow);
      let opened = false;
      connection.connect((error) => {
        if (subscriber.closed) {
          connection.destroy();
          return;
        }
        if (error) {
          if ((error as { code?: unknown }).code === 'HANDSHAKE_NO_SSL_SUPPORT') {
            subscriber.error(
              new ConnectionError(
                `could not connect to ${describeTarget(params)}: the server does not support TLS, and this config requires it (sslmode or ssl). ` +
                  `Turn TLS on at the server, or use sslmode=disable.`,
                { cause: error, isRetryable: false },
              ),
            );
            return;
          }
          const converted = toRxpgMysqlError(error);
          // A refusal the server explains with its own error (other than shutting down or too
          // many connections) stays however often one tries; a network failure may pass.
          const { sqlMessage, errno, sqlState, code } = error as { sqlMessage?: string; errno?: number; sqlState?: string; code?: string };
          const serverReason = sqlMessage === undefined ? undefined : reasonForMysqlError(errno, sqlState, code);
          subscriber.error(
            converted instanceof ConnectionError && converted.reason !== 'connection'
              ? converted
              : new ConnectionError(`could not connect to ${describeTarget(params)}: ${converted.message}`, {
                  cause: error,
                  reason: serverReason === 'undefined_object' || serverReason === 'permission' ? serverReason : 'connection',
                  isRetryable: serverReason === undefined || serverReason === 'connection' || serverReason === 'insufficient_resources',
                }),
          );
          return;
        }
        const session = new MysqlConnection(connection, options, hooks);
        connection.removeListener('error', swallow);
        const setup = sessionSetup(params, session.isMariaDb);
        if (setup.length === 0) {
          opened = true;
          subscriber.next(session);
          subscriber.complete();
          return;
        }
        // One statement at a time: mysql2 refuses several in one text unless told otherwise.
        const next = (index: number): void => {
          if (subscriber.closed) return;
          if (index === setup.length) {
            opened = true;
            subscriber.next(session);
            subscriber.complete();
            return;
          }
          connection.query(setup[index], (setupError) => {
            if (!setupError) return next(index + 1);
            session.destroy();
            if (!subscriber.closed) subscriber.error(toRxpgMysqlError(setupError));
          });
        };
        next(0);
      });
      return () => {
        if (!opened) connection.destroy();
      };
    });
  }
}

/** Session defaults a config asks for: its statement timeout and isolation level. */
function sessionSetup(params: ConnectionParams, mariadb: boolean): string[] {
  const statements: string[] = [];
  if (params.statementTimeoutMillis > 0) {
    statements.push(
      mariadb ? `SET SESSION max_statement_time = ${params.statementTimeoutMillis / 1000}` : `SET SESSION max_execution_time = ${Math.ceil(params.statementTimeoutMillis)}`,
    );
  }
  if (params.defaultIsolation) statements.push(`SET SESSION TRANSACTION ISOLATION LEVEL ${params.defaultIsolation.toUpperCase()}`);
  return statements;
}
