// A backend written against the public seam alone (everything imported from the package entry):
// the manager runs its statements, transactions, savepoints and session resets in that backend's
// own SQL, and never writes Postgres' or MySQL's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchError, concat, EMPTY, lastValueFrom, Observable, throwError, toArray } from 'rxjs';
import {
  ConnectionError,
  DbManager,
  QueryError,
  RowShape,
  runPreludeFirst,
  type ConnectionHooks,
  type ConnectionParams,
  type ConnectionSource,
  type Driver,
  type DriverConnection,
  type ManagerOptions,
  type ResolvedConnection,
  type RunOptions,
  type SessionSettings,
  type StatementSink,
  type StatementSummary,
  type TransactionStatus,
} from '../src/index.js';

/** A toy backend that answers `ECHO <word>` with one row and understands its own transaction words. */
class EchoConnection implements DriverConnection {
  readonly processId: number;
  transactionStatus: TransactionStatus = 'idle';
  isBroken = false;
  /** The echo backend keeps no session state: nothing to reset. */
  readonly sessionChange = undefined;
  readonly #log: string[];

  constructor(processId: number, log: string[]) {
    this.processId = processId;
    this.#log = log;
  }

  run(sql: string, params: readonly unknown[], sink: StatementSink, options: RunOptions = {}): void {
    if (options.prelude?.length) return runPreludeFirst(this, sql, params, sink, options);
    this.#log.push(sql);
    if (sql === 'OPEN WORK') this.transactionStatus = 'transaction';
    else if (sql === 'KEEP WORK' || sql === 'DROP WORK') this.transactionStatus = 'idle';
    const echo = /^ECHO (\w+)$/.exec(sql);
    if (echo) sink.row(new RowShape([{ name: 'word', typeOid: 0, tableOid: 0, columnNumber: 0 }]), [echo[1]]);
    if (sql === 'ECHO fail') {
      if (this.transactionStatus === 'transaction') this.transactionStatus = 'failed';
      return sink.error(new QueryError('data', 'told to fail', {}));
    }
    sink.complete({ command: sql.split(' ')[0], rowCount: echo ? 1 : 0 });
  }

  markBaseline(): void {}

  resetStatement(): undefined {
    return undefined;
  }

  cancel(): Observable<void> {
    return new Observable<void>((subscriber) => subscriber.complete());
  }

  close(): Observable<void> {
    this.isBroken = true;
    return new Observable<void>((subscriber) => subscriber.complete());
  }

  destroy(): void {
    this.isBroken = true;
  }
}

class EchoDriver implements Driver {
  readonly dialect = 'echo';
  readonly log: string[] = [];
  #next = 1;

  resolveConnection(source: ConnectionSource, settings: SessionSettings): ResolvedConnection {
    if (source.connectionString !== undefined && !source.connectionString.startsWith('echo:')) {
      throw new Error('an echo connection string starts with echo:');
    }
    const params: ConnectionParams = {
      host: 'echo', port: 0, user: 'echo', password: undefined, database: 'echo',
      applicationName: settings.applicationName ?? settings.fallbackApplicationName,
      ssl: false, keepAlive: false, keepAliveInitialDelayMillis: 0,
      statementTimeoutMillis: settings.statementTimeoutMillis, defaultIsolation: settings.defaultIsolation, typeParsers: new Map(),
    };
    return { params, connectTimeoutSeconds: undefined };
  }

  beginTransaction(): string[] {
    return ['OPEN WORK'];
  }
  commitTransaction(): string {
    return 'KEEP WORK';
  }
  rollbackTransaction(): string {
    return 'DROP WORK';
  }
  savepoint(name: string): string {
    return `MARK ${name}`;
  }
  releaseSavepoint(name: string): string {
    return `UNMARK ${name}`;
  }
  rollbackToSavepoint(name: string): string {
    return `BACK TO ${name}`;
  }
  committed(summary: StatementSummary): boolean {
    return summary.command === 'KEEP';
  }

  connect(_params: ConnectionParams, _hooks: ConnectionHooks): Observable<DriverConnection> {
    return new Observable<DriverConnection>((subscriber) => {
      subscriber.next(new EchoConnection(this.#next++, this.log));
      subscriber.complete();
    });
  }
}

class EchoManager extends DbManager {
  constructor(driver: EchoDriver, options: Omit<ManagerOptions, 'driver'> = {}) {
    super(driver, options);
  }
}

describe('a third backend through the public seam', () => {
  it('reads its own connection strings and runs its statements', async () => {
    const driver = new EchoDriver();
    const db = new EchoManager(driver);
    db.createConn({ connectionString: 'echo://anywhere' });
    const rows = await lastValueFrom(db.query('ECHO hello').pipe(toArray()));
    assert.deepEqual(rows.map((row) => row.word), ['hello']);
    assert.throws(() => db.createConn({ name: 'other', connectionString: 'postgres://h/d' }), /starts with echo:/);
    await db.close();
  });

  it('writes transactions and savepoints in its own SQL, and resets a returned session with its own rollback', async () => {
    const driver = new EchoDriver();
    const db = new EchoManager(driver);
    db.createConn({});
    const values = await lastValueFrom(
      db
        .transaction((tx) =>
          concat(
            tx.query('ECHO one'),
            tx.savepoint((sp) => concat(sp.query('ECHO two'), throwError(() => new Error('undo the savepoint')))).pipe(catchError(() => EMPTY)),
          ),
        )
        .pipe(toArray()),
    );
    assert.deepEqual(values.map((row) => row.get('word')), ['one', 'two']);
    const marks = driver.log.filter((sql) => sql.startsWith('MARK ') || sql.startsWith('BACK TO '));
    assert.equal(marks.length, 2, `a savepoint and its rollback: ${JSON.stringify(driver.log)}`);
    assert.deepEqual(driver.log.filter((sql) => !marks.includes(sql)), ['OPEN WORK', 'ECHO one', 'ECHO two', 'KEEP WORK']);

    // A scope left mid-transaction hands its session back through the backend's own rollback, and
    // the pool opens sessions with a driver that answers at once (no timer in between).
    driver.log.length = 0;
    const held = db.connection('default', (conn) => concat(conn.query('OPEN WORK'), new Observable<never>(() => {})));
    const subscription = held.subscribe();
    subscription.unsubscribe();
    assert.deepEqual(driver.log, ['OPEN WORK', 'DROP WORK']);
    await db.close();
  });

  it('decides by its own rule whether COMMIT committed', async () => {
    const driver = new EchoDriver();
    driver.committed = (summary) => summary.command === 'NEVER';
    const db = new EchoManager(driver);
    db.createConn({});
    const error = await lastValueFrom(db.transaction((tx) => tx.query('ECHO x'))).catch((caught: unknown) => caught);
    assert.ok(error instanceof QueryError && error.reason === 'invalid_transaction_state', String(error));
    assert.equal(error.sqlState, undefined, 'no SQLSTATE is made up when the server sent none');
    assert.ok(!(error instanceof ConnectionError));
    await db.close();
  });
});
