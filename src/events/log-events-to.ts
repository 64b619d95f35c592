import { describeScopeBypass, type DbEvent } from './db-event.js';

/** Any logger with the four usual levels: `console`, pino, winston, bunyan … */
export interface Logger {
  /** Statements and connects. */
  debug(...args: unknown[]): void;
  /** Notices. */
  info(...args: unknown[]): void;
  /** Server warnings. */
  warn(...args: unknown[]): void;
  /** Failed statements and connects. */
  error(...args: unknown[]): void;
  /** pino and bunyan: a child logger with bound fields. */
  child?(bindings: Record<string, unknown>): Logger;
}

/** PgManager's logger names: statements and their errors, and server notices. */
export type LoggerName = 'pgmanager_sql' | 'pgmanager_notices';

/**
 * Sends manager events to a logger under PgManager's logger names: statements (debug) and
 * errors (error) to `pgmanager_sql`, server notices to `pgmanager_notices` (warn for WARNING,
 * info otherwise), connects to `pgmanager_sql` (debug), a driver's fallback from a fast path and
 * a statement that bypassed its scope's handle (`scope_bypass`) to `pgmanager_sql` (warn). A logger with `child` (pino, bunyan)
 * gets a child per name and structured fields; others get the name as a message prefix.
 * Parameter values and passwords are never logged.
 *
 * @example
 * ```ts
 * import { PgManager, logEventsTo } from 'rxpg';
 *
 * const subscription = PgManager.getInstance().events$.subscribe(logEventsTo(console));
 * // later: subscription.unsubscribe();
 * ```
 * @see {@link DbEvent}
 */
export function logEventsTo(logger: Logger): (event: DbEvent) => void {
  const named = new Map<LoggerName, Logger>();
  const log = (name: LoggerName, level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void => {
    if (typeof logger.child === 'function') {
      let child = named.get(name);
      if (child === undefined) named.set(name, (child = logger.child({ name })));
      child[level](fields, message);
    } else {
      logger[level](`${name}: ${message}`);
    }
  };
  return (event) => {
    switch (event.type) {
      case 'query':
        log('pgmanager_sql', 'debug', `[${event.conn}] ${event.prelude ? `${event.prelude.join('; ')}; ` : ''}${event.sql} (${event.durationMillis} ms, ${event.rowCount ?? 0} rows)`, {
          conn: event.conn,
          processId: event.processId,
          paramCount: event.paramCount,
          durationMillis: event.durationMillis,
          rowCount: event.rowCount,
        });
        break;
      case 'error':
        log('pgmanager_sql', 'error', `[${event.conn}] ${event.error.message}${event.sql ? ` in: ${event.sql}` : ''}`, {
          conn: event.conn,
          code: event.error.code,
          reason: event.error.reason,
        });
        break;
      case 'notice':
        log('pgmanager_notices', event.severity === 'WARNING' ? 'warn' : 'info', `[${event.conn}] ${event.severity}: ${event.message}`, {
          conn: event.conn,
          processId: event.processId,
          sqlState: event.sqlState,
        });
        break;
      case 'connect':
        log('pgmanager_sql', 'debug', `[${event.conn}] connected (pid ${event.processId}, ${event.durationMillis} ms)`, {
          conn: event.conn,
          processId: event.processId,
        });
        break;
      case 'fallback':
        log('pgmanager_sql', 'warn', `[${event.conn}] pid ${event.processId}: ${event.feature} ${event.feature === 'prepared-statements' ? 'are off for this config' : 'is off for this session'}: ${event.detail}`, {
          conn: event.conn,
          processId: event.processId,
          feature: event.feature,
        });
        break;
      case 'scope_bypass':
        log('pgmanager_sql', 'warn', `[${event.conn}] ${describeScopeBypass(event)}${event.sql ? ` Statement: ${event.sql}` : ''}`, {
          conn: event.conn,
          method: event.method,
          scope: event.scope,
          use: event.use,
          refused: event.refused,
        });
        break;
      case 'host':
        // A standby passed over by a read-write config is routine; a host that refused is worth reading.
        log('pgmanager_sql', event.outcome === 'chosen' ? 'debug' : 'info', `[${event.conn}] ${event.host}:${event.port} ${event.outcome === 'chosen' ? `chosen${event.processId === undefined ? '' : ` (pid ${event.processId})`}` : 'passed over'}: ${event.why}`, {
          conn: event.conn,
          host: event.host,
          port: event.port,
          outcome: event.outcome,
        });
        break;
      case 'release':
        // Pool bookkeeping is too chatty to log, but a session retired because its server changed role is news.
        if (event.reason === 'role_changed') {
          log('pgmanager_sql', 'info', `[${event.conn}] pid ${event.processId} retired: ${event.roleChange ?? 'its server changed role'}`, {
            conn: event.conn,
            processId: event.processId,
          });
        }
        break;
      default:
        // acquire is pool bookkeeping: observable on events$, too chatty to log.
        break;
    }
  };
}
