// The `rxpg/mysql` entry: MyManager and the MySQL driver. mysql2 is loaded only from here, so
// PostgreSQL-only users never load it.
export { MyManager } from './mysql/my-manager.js';
export { MysqlDriver } from './mysql/mysql-driver.js';
export { reasonForMysqlError } from './mysql/errno-reason.js';
// Backend-agnostic helpers, so MySQL users need one import.
export { retryTransaction } from './manager/retry-transaction.js';
export { logEventsTo } from './events/log-events-to.js';
