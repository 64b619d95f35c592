import type { Observable } from 'rxjs';
import type { ConnectionParams, ConnectionSource, ResolvedConnection, SessionSettings } from './connection-params.js';
import type { ConnectionHooks, Driver, TransactionSettings } from './driver.js';
import type { DriverConnection } from './driver-connection.js';
import type { StatementSummary } from './statement-sink.js';

/**
 * A {@link Driver} for a backend that ends transactions and handles savepoints with SQL's
 * standard statements (`COMMIT`, `ROLLBACK`, `SAVEPOINT n`, `RELEASE SAVEPOINT n`, `ROLLBACK TO
 * SAVEPOINT n`), as Postgres and MySQL do: a backend extends it and writes the rest.
 *
 * @example
 * ```ts
 * import { SqlDriver } from 'rxpg';
 *
 * class MyBackendDriver extends SqlDriver {
 *   readonly dialect = 'mybackend';
 *   resolveConnection(source, settings, conn) { … }
 *   beginTransaction(settings) { return ['BEGIN']; }
 *   connect(params, hooks) { … }
 * }
 * ```
 * @category Driver seam
 */
export abstract class SqlDriver implements Driver {
  abstract readonly dialect: string;
  abstract resolveConnection(source: ConnectionSource, settings: SessionSettings, conn: string): ResolvedConnection;
  abstract beginTransaction(settings: TransactionSettings): string[];
  abstract connect(params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection>;

  /** `COMMIT` */
  commitTransaction(): string {
    return 'COMMIT';
  }

  /** `ROLLBACK` */
  rollbackTransaction(): string {
    return 'ROLLBACK';
  }

  /** `SAVEPOINT name` */
  savepoint(name: string): string {
    return `SAVEPOINT ${name}`;
  }

  /** `RELEASE SAVEPOINT name` */
  releaseSavepoint(name: string): string {
    return `RELEASE SAVEPOINT ${name}`;
  }

  /** `ROLLBACK TO SAVEPOINT name` */
  rollbackToSavepoint(name: string): string {
    return `ROLLBACK TO SAVEPOINT ${name}`;
  }

  /** A backend whose COMMIT can report a rollback without an error (Postgres) overrides this. */
  committed(summary: StatementSummary): boolean {
    void summary;
    return true;
  }
}
