import pg from 'pg';
import { Observable } from 'rxjs';
import { describeTarget, type ConnectionParams, type ConnectionSource, type ResolvedConnection, type SessionSettings } from '../driver/connection-params.js';
import type { ConnectionHooks, Driver, TransactionSettings } from '../driver/driver.js';
import type { DriverConnection } from '../driver/driver-connection.js';
import type { StatementSummary } from '../driver/statement-sink.js';
import { ConnectionError } from '../errors/connection-error.js';
import { toRxpgError } from './pg-error.js';
import { PgConnection, type PgClientInternals } from './pg-connection.js';
import { resolvePostgresParams } from './postgres-params.js';

/**
 * The Postgres backend over `pg`'s Client (its protocol and auth; rxpg does its own pooling,
 * statement handling and cancel).
 */
export class PostgresDriver implements Driver {
  readonly dialect = 'postgres';

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

  commitTransaction(): string {
    return 'COMMIT';
  }

  rollbackTransaction(): string {
    return 'ROLLBACK';
  }

  savepoint(name: string): string {
    return `SAVEPOINT ${name}`;
  }

  releaseSavepoint(name: string): string {
    return `RELEASE SAVEPOINT ${name}`;
  }

  rollbackToSavepoint(name: string): string {
    return `ROLLBACK TO SAVEPOINT ${name}`;
  }

  /** COMMIT of a transaction in which a statement failed completes with the tag ROLLBACK. */
  committed(summary: StatementSummary): boolean {
    return summary.command !== 'ROLLBACK';
  }

  connect(params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection> {
    return new Observable<DriverConnection>((subscriber) => {
      const client = new pg.Client({
        host: params.host,
        port: params.port,
        user: params.user,
        password: params.password,
        database: params.database,
        ssl: params.ssl as pg.ClientConfig['ssl'],
        application_name: params.applicationName,
        keepAlive: params.keepAlive,
        keepAliveInitialDelayMillis: params.keepAliveInitialDelayMillis,
        statement_timeout: params.statementTimeoutMillis > 0 ? params.statementTimeoutMillis : undefined,
        // Startup options: spaces inside a value are escaped with a backslash.
        options: params.defaultIsolation ? `-c default_transaction_isolation=${params.defaultIsolation.replace(' ', '\\ ')}` : undefined,
      });
      // Until PgConnection takes over, an error event must not crash the process.
      const swallow = (): void => {};
      client.on('error', swallow);
      let opened = false;
      client.connect().then(
        () => {
          if (subscriber.closed) {
            // Opened after the caller gave up: close it rather than keep a zombie.
            client.end().catch(swallow);
            return;
          }
          opened = true;
          const connection = new PgConnection(client, params, hooks);
          client.removeListener('error', swallow);
          subscriber.next(connection);
          subscriber.complete();
        },
        (error: unknown) => {
          if (subscriber.closed) return;
          const converted = toRxpgError(error);
          if (converted instanceof ConnectionError && converted.reason !== 'connection') {
            subscriber.error(converted);
            return;
          }
          subscriber.error(
            new ConnectionError(`could not connect to ${describeTarget(params)}: ${converted.message.replace(/^connection lost: /, '')}`, {
              cause: error,
              isRetryable: true,
            }),
          );
        },
      );
      return () => {
        if (!opened) (client as unknown as PgClientInternals).connection.stream.destroy();
      };
    });
  }
}
