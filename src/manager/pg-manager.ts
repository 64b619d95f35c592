import { PostgresDriver } from '../postgres/postgres-driver.js';
import { resolvePostgresParams } from '../postgres/postgres-params.js';
import { DbManager, type ManagerOptions } from './db-manager.js';

let instance: PgManager | undefined;

/**
 * PgManager for RxJS: named connection configs, one pool per config, cold queries emitting
 * {@link OrderedRow}s, and connection, cursor and transaction scopes as RxJS resources.
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 * import { first } from 'rxjs';
 *
 * const pgm = PgManager.getInstance();
 * pgm.createConn({ host: '127.0.0.1', dbname: 'postgres', isolationLevel: 'autocommit' });
 * pgm.cursor((curs) => curs.execute('SELECT now() AS now'))
 *   .pipe(first())
 *   .subscribe((row) => console.log(row.now));
 * ```
 * @see {@link DbManager} for every method
 */
export class PgManager extends DbManager {
  /** A manager of its own, isolated from {@link PgManager.getInstance}'s configs and pools. */
  constructor(options: ManagerOptions = {}) {
    super(new PostgresDriver(), resolvePostgresParams, options);
  }

  /** The process-wide default manager, PgManager's `get_instance()`. */
  static getInstance(): PgManager {
    instance ??= new PgManager();
    return instance;
  }
}
