import { MysqlDriver } from './mysql-driver.js';
import { DbManager, type ManagerOptions } from '../manager/db-manager.js';

let instance: MyManager | undefined;

/**
 * PgManager's sibling for MySQL and MariaDB over mysql2: the same configs, pools, cold queries,
 * streams with backpressure, scopes, transactions, timeouts and events, behind the same driver
 * seam. Placeholders are `?`. MySQL has no LISTEN/NOTIFY, so MyManager has no such methods.
 * Timeouts use MariaDB's `max_statement_time` or MySQL's `MAX_EXECUTION_TIME` hint (SELECT only)
 * with the client timer; cancel is `KILL QUERY` from a side connection.
 *
 * @example
 * ```ts
 * import { MyManager } from 'rxpg/mysql';
 * import { toArray } from 'rxjs';
 *
 * const mym = MyManager.getInstance();
 * mym.createConn({ connectionString: 'mysql://root@127.0.0.1:3306/test' });
 * mym.query('SELECT id, name FROM users WHERE active = ?', [1]).pipe(toArray()).subscribe(console.log);
 * ```
 * @see {@link DbManager} for every method
 */
export class MyManager extends DbManager {
  /** A manager of its own, isolated from {@link MyManager.getInstance}'s configs and pools. */
  constructor(options: ManagerOptions = {}) {
    super(options.driver ?? new MysqlDriver(), options);
  }

  /** The process-wide default MyManager. After its `close()` it stays closed: make a `new MyManager()` for more work. */
  static getInstance(): MyManager {
    instance ??= new MyManager();
    return instance;
  }
}
