import { ConnectionError } from '../errors/connection-error.js';
import { QueryError } from '../errors/query-error.js';
import type { BatchEntry, BatchRunOptions, BatchSink } from './batch-sink.js';
import type { DriverConnection } from './driver-connection.js';
import type { StatementSink } from './statement-sink.js';

/**
 * Runs a batch one statement per round trip, for a driver that cannot pipeline (MySQL's protocol
 * answers one statement before it reads the next). Outside a transaction the statements run
 * inside one of their own (`options.transaction`): COMMIT after the last, ROLLBACK after a
 * failure, so the batch commits as a whole or not at all, as a pipelined one does. A session lost
 * during that COMMIT leaves the outcome unknown.
 * @category Driver seam
 */
export function runBatchInTurn(connection: DriverConnection, entries: readonly BatchEntry[], sink: BatchSink, options: BatchRunOptions = {}): void {
  const prelude = options.prelude ?? [];
  const transaction = options.transaction !== undefined && prelude.length === 0 && connection.transactionStatus === 'idle' ? options.transaction : undefined;
  const first = transaction ? [...transaction.begin] : prelude;
  const ignore = (): void => {};
  const fail = (error: Error, index: number | undefined): void => {
    // Inside the caller's transaction the failure is the caller's to handle; the batch's own is rolled back here.
    const own = transaction !== undefined;
    if (transaction === undefined || connection.isBroken || connection.transactionStatus === 'idle') {
      sink.error(error, index, own);
      return;
    }
    const report = (): void => sink.error(error, index, own);
    connection.run(transaction.rollback, [], { row: ignore, complete: report, error: report });
  };
  const finish = (): void => {
    if (transaction === undefined) {
      sink.complete({});
      return;
    }
    connection.run(transaction.commit, [], {
      row: ignore,
      complete: () => sink.complete({}),
      error: (error) =>
        sink.error(
          error instanceof ConnectionError && connection.isBroken
            ? new ConnectionError(
                `The session was lost during the COMMIT of a batch; it may or may not have committed. Check before retrying: ${error.message}`,
                { reason: 'outcome_unknown', cause: error, isRetryable: false },
              )
            : error,
          undefined,
          true,
        ),
    });
  };
  const runFrom = (index: number): void => {
    if (sink.abandoned?.() === true) {
      // Given up between two statements: the rest is not sent, and the batch's own transaction is undone.
      fail(new QueryError('canceled', 'The batch was given up before it ended; the statements after the last that ran were not sent.', {}), undefined);
      return;
    }
    if (index === entries.length) {
      finish();
      return;
    }
    const { sql, params } = entries[index];
    const statementSink: StatementSink = {
      row: (shape, values) => sink.row(index, shape, values),
      complete: (summary) => {
        sink.statement(index, summary);
        runFrom(index + 1);
      },
      error: (error) => fail(error, index),
    };
    connection.run(sql, params, statementSink, {
      ...(options.timeoutMillis !== undefined && { timeoutMillis: options.timeoutMillis }),
      ...(index === 0 && first.length > 0 && { prelude: first }),
    });
  };
  runFrom(0);
}
