import type { BatchEntry } from '../driver/batch-sink.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { Row } from '../rows/ordered-row.js';
import { checkStatement } from './check-statement.js';
import type { TransactionIsolationLevel } from './transaction.js';

/**
 * One statement of a batch: its SQL (one statement: a batch sends each by the extended
 * protocol) and its parameters, bound as `query()` binds them.
 */
export type BatchStatement = readonly [sql: string, params?: readonly unknown[]];

/**
 * What a batch emits per statement, in order, once the batch has ended (committed, when it was
 * its own transaction).
 */
export interface BatchResult<T extends object = Record<string, unknown>> {
  /** The statement's place in the batch, from 0. */
  readonly index: number;
  readonly sql: string;
  /** The command tag's verb (`UPDATE`, `SELECT`, …), as {@link CommandResult.command}. */
  readonly command: string;
  /** Rows affected or returned, as the server counted them (null when it did not say). */
  readonly rowCount: number | null;
  /** The rows the statement returned (a SELECT, or RETURNING); empty for the others. */
  readonly rows: Row<T>[];
}

/** Options of {@link DbManager.batch}. */
export interface BatchOptions {
  /** Connection config name; `default` when omitted. */
  readonly conn?: string;
  /**
   * Milliseconds the batch may take: the server's `statement_timeout` for each of its
   * statements, and a client timer for the whole batch, as for {@link QueryOptions.timeout}.
   */
  readonly timeout?: number;
  /**
   * The batch's transaction, as {@link TransactionOptions}: with any of these three the batch
   * opens it with a `BEGIN` of its own (sent in the same round trip, with its `COMMIT`);
   * without them it is the protocol's implicit transaction (Postgres) or a plain one (MySQL).
   */
  readonly isolationLevel?: TransactionIsolationLevel;
  /** `READ ONLY`: a statement that writes fails the batch. */
  readonly readOnly?: boolean;
  /** `DEFERRABLE`: only meaningful for a serializable read-only batch. */
  readonly deferrable?: boolean;
}

/** COPY … FROM STDIN or TO STDOUT, after any comments: their data needs copyFrom() or copyTo(). */
const CLIENT_COPY = /^\s*(?:(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)\s*)*copy\b[\s\S]*\b(?:stdin|stdout)\b/i;

/** Checks a batch's statements before anything is sent: what a driver runs. */
export function batchEntriesOf(statements: unknown, method: string): BatchEntry[] {
  if (!Array.isArray(statements)) {
    throw new ConfigurationError(
      `${method}: statements must be an array of [sql, params?] pairs, such as [['UPDATE t SET n = n + 1 WHERE id = $1', [7]]]; got ${statements === null ? 'null' : typeof statements}.`,
    );
  }
  return statements.map((statement: unknown, index) => {
    const place = `statement ${index + 1} of ${statements.length}`;
    if (!Array.isArray(statement) || statement.length < 1 || statement.length > 2) {
      throw new ConfigurationError(`${method}: ${place} must be an [sql, params?] pair, got ${Array.isArray(statement) ? `an array of ${statement.length}` : typeof statement}.`);
    }
    const [sql, params = []] = statement as [unknown, unknown];
    try {
      checkStatement(sql, params);
    } catch (error) {
      throw new ConfigurationError(`${method}: ${place}: ${(error as Error).message}`);
    }
    if (CLIENT_COPY.test(sql as string)) {
      throw new ConfigurationError(`${method}: ${place} is a COPY … FROM STDIN or TO STDOUT, which cannot run in a batch: run it with copyFrom() or copyTo().`);
    }
    return { sql: sql as string, params: params as readonly unknown[] };
  });
}
