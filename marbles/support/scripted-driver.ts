import { EMPTY, Observable, timer, type Subscription } from 'rxjs';
import type { ConnectionHooks, ConnectionParams, Driver, DriverConnection, RunOptions, StatementSink, TransactionStatus } from '../../src/index.js';
import { ConnectionError } from '../../src/errors/connection-error.js';
import { QueryError } from '../../src/errors/query-error.js';
import { RowShape } from '../../src/rows/ordered-row.js';
import { DbManager, type ManagerOptions } from '../../src/manager/db-manager.js';
import { resolvePostgresParams } from '../../src/postgres/postgres-params.js';

/** How one statement behaves: how many frames it runs, what rows it returns, whether a cancel stops it. */
export interface ScriptedStatement {
  readonly frames: number;
  readonly rows?: readonly (readonly unknown[])[];
  readonly columns?: readonly string[];
  readonly ignoresCancel?: boolean;
}

/**
 * An in-memory driver whose connects and statements take scripted virtual time (RxJS timers),
 * for marble tests of the timing contracts. Records every statement it was sent.
 */
export class ScriptedDriver implements Driver {
  readonly dialect = 'scripted';
  readonly sent: string[] = [];
  readonly connections: ScriptedConnection[] = [];
  connectFrames = 1;
  script: (sql: string) => ScriptedStatement = () => ({ frames: 1 });

  beginTransaction(): string[] {
    return ['BEGIN'];
  }

  connect(_params: ConnectionParams, hooks: ConnectionHooks): Observable<DriverConnection> {
    return new Observable<DriverConnection>((subscriber) =>
      timer(this.connectFrames).subscribe(() => {
        const connection = new ScriptedConnection(this, this.connections.length + 1, hooks);
        this.connections.push(connection);
        subscriber.next(connection);
        subscriber.complete();
      }),
    );
  }
}

export class ScriptedConnection implements DriverConnection {
  readonly processId: number;
  transactionStatus: TransactionStatus = 'idle';
  isBroken = false;
  cancels = 0;
  /** Batches asked for after the first. */
  fetches = 0;
  readonly #driver: ScriptedDriver;
  readonly #hooks: ConnectionHooks;
  #running: { timer: Subscription; sink: StatementSink; statement: ScriptedStatement } | undefined;

  constructor(driver: ScriptedDriver, processId: number, hooks: ConnectionHooks) {
    this.#driver = driver;
    this.processId = processId;
    this.#hooks = hooks;
  }

  /**
   * Runs a scripted statement: after `frames` it delivers its rows, all at once or, with a
   * batch size, one batch per `frames`, pausing for the consumer after each full batch.
   */
  run(sql: string, _params: readonly unknown[], sink: StatementSink, options: RunOptions = {}): void {
    this.#driver.sent.push(sql);
    const statement = this.#driver.script(sql);
    const shape = new RowShape((statement.columns ?? ['n']).map((name) => ({ name, typeOid: 23, tableOid: 0, columnNumber: 0 })));
    const rows = statement.rows ?? [];
    const batchSize = options.batchSize ?? Math.max(rows.length, 1);
    const deliver = (from: number): void => {
      const running = {
        sink,
        statement,
        timer: timer(statement.frames).subscribe(() => {
          this.#running = undefined;
          const batch = rows.slice(from, from + batchSize);
          for (const values of batch) sink.row(shape, [...values]);
          if (from + batchSize < rows.length) {
            let used = false;
            sink.suspended?.({
              fetch: () => {
                if (used) return;
                used = true;
                this.fetches++;
                deliver(from + batchSize);
              },
              close: () => {
                if (used) return;
                used = true;
                sink.complete({ command: 'CLOSE', rowCount: batch.length });
              },
            });
            return;
          }
          if (/^BEGIN/.test(sql)) this.transactionStatus = 'transaction';
          if (/^(COMMIT|ROLLBACK)$/.test(sql)) this.transactionStatus = 'idle';
          sink.complete({ command: sql.split(' ')[0], rowCount: batch.length });
        }),
      };
      this.#running = running;
    };
    deliver(0);
  }

  cancel(): Observable<void> {
    this.cancels++;
    const running = this.#running;
    if (running && !running.statement.ignoresCancel) {
      running.timer.unsubscribe();
      this.#running = undefined;
      running.sink.error(new QueryError('canceled', 'canceling statement due to user request', { sqlState: '57014' }));
    }
    return EMPTY;
  }

  close(): Observable<void> {
    this.isBroken = true;
    return EMPTY;
  }

  destroy(): void {
    if (this.isBroken) return;
    this.isBroken = true;
    const running = this.#running;
    this.#running = undefined;
    running?.timer.unsubscribe();
    running?.sink.error(new ConnectionError('the session was destroyed'));
    this.#hooks.onLost(new Error('destroyed'));
  }
}

/** A manager over a {@link ScriptedDriver}; its `default` config is registered. */
export class ScriptedManager extends DbManager {
  constructor(readonly driver: ScriptedDriver, options: ManagerOptions = {}) {
    super(driver, resolvePostgresParams, options);
  }
}
