import type { DriverConnection } from './driver-connection.js';
import type { RunOptions, StatementSink } from './statement-sink.js';

/**
 * Runs `options.prelude` one statement per round trip ahead of `sql`, for a driver (or a
 * statement) that cannot pipeline them: the first prelude statement to fail is the statement's
 * error, and the statement is then not run.
 * @category Driver seam
 */
export function runPreludeFirst(connection: DriverConnection, sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions): void {
  const [first, ...rest] = options.prelude ?? [];
  if (first === undefined) {
    connection.run(sql, params, sink, { ...options, prelude: undefined });
    return;
  }
  connection.run(first, [], {
    row: () => {},
    complete: () => connection.run(sql, params, sink, { ...options, prelude: rest }),
    error: (error) => sink.error(error),
  });
}
