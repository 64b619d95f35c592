import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Subject, type Observable } from 'rxjs';
import { ConfigurationError } from '../errors/configuration-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { QueryError } from '../errors/query-error.js';
import type { DbManager } from '../manager/db-manager.js';
import { PgManager } from '../postgres/pg-manager.js';
import type { CliConnection } from './connections.js';

/** The exit code after Ctrl-C, as shells report a process ended by SIGINT. */
export const EXIT_INTERRUPTED = 130;

/** What a command runs with: the manager (its config is named `cli`) and where Ctrl-C is heard. */
export interface CliContext {
  readonly manager: DbManager;
  readonly connection: CliConnection;
  /** Emits once on Ctrl-C: pipe the command's work through `takeUntil(interrupted)`. */
  readonly interrupted: Observable<void>;
  /** Whether Ctrl-C was pressed: a command then prints no partial result. */
  wasInterrupted(): boolean;
  readonly out: Writable;
  readonly err: Writable;
}

/** A Postgres-only command's manager, or a clear error on MySQL. */
export function postgresOnly(context: CliContext, command: string): PgManager {
  if (context.manager instanceof PgManager) return context.manager;
  throw new ConfigurationError(`rxpg ${command} is for PostgreSQL; ${context.connection.label} is a MySQL/MariaDB connection.`);
}

/**
 * Opens the manager for `connection`, runs the command, closes the manager, and says how the
 * process should exit: 0 when the command completed, 130 after Ctrl-C (the statement running
 * then is cancelled on the server first: unsubscribing does it), 1 after an error, printed as
 * one line with its code and reason (never a password: rxpg's messages carry none).
 */
export async function runCommand(connection: CliConnection, command: (context: CliContext) => Promise<void>, io: { out: Writable; err: Writable } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const interrupted = new Subject<void>();
  let wasInterrupted = false;
  const onSigint = (): void => {
    wasInterrupted = true;
    interrupted.next();
  };
  process.on('SIGINT', onSigint);
  let manager: DbManager | undefined;
  try {
    if (connection.backend === 'mysql') {
      // mysql2 is an optional peer: loaded only for a MySQL connection.
      const { MyManager } = await import('../mysql/my-manager.js');
      manager = new MyManager();
    } else {
      manager = new PgManager();
    }
    manager.createConn(connection.options);
    await command({ manager, connection, interrupted, wasInterrupted: () => wasInterrupted, out: io.out, err: io.err });
    return wasInterrupted ? EXIT_INTERRUPTED : 0;
  } catch (error) {
    if (wasInterrupted) return EXIT_INTERRUPTED;
    io.err.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    await manager?.close();
  }
}

/** One line: `rxpg: RXPG_QUERY syntax (SQLSTATE 42601): syntax error at or near "SELEC"`. */
export function describeError(error: unknown): string {
  if (error instanceof RxpgError) {
    const sqlState = error instanceof QueryError && error.sqlState !== undefined ? ` (SQLSTATE ${error.sqlState})` : '';
    return `rxpg: ${error.code} ${error.reason}${sqlState}: ${error.message.replace(/\s*\n\s*/g, ' ')}`;
  }
  return `rxpg: ${error instanceof Error ? error.message : String(error)}`;
}

/** Writes `text`, waiting for the stream to drain when its buffer is full: the caller's demand. */
export async function write(stream: Writable, text: string): Promise<void> {
  if (text.length === 0) return;
  if (!stream.write(text)) await once(stream, 'drain');
}
