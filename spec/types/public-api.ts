// Compile-time checks of the public types, run by spec/typing.spec.ts (and `npm run typecheck`):
// each line fails to compile when the type it checks is wrong. A `@ts-expect-error` line fails
// when its error goes away. Nothing here runs.
import { TimeoutError, type Observable } from 'rxjs';
import { BatchError, PgManager, QueryError, StatementTimeoutError, type BatchResult, type BatchStatement, type ColumnInfo, type Connection, type OrderedRow, type PoolState, type PoolStats, type Row } from '../../src/index.js';
import { MyManager } from '../../src/mysql.js';
import { instrument, type InstrumentationHandle, type InstrumentOptions } from '../../src/opentelemetry.js';

/** Compiles only when `A` and `B` are the same type. */
type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | void {}

declare const pgm: PgManager;

// Row<T> with columns named like the row's own values: `length` and `columns` are the columns
// (they typed as `never` before, and `row.length` was the column count at run time).
interface Film {
  title: string;
  length: string;
  columns: number;
}
declare const film: Row<Film>;
expectType<Equal<typeof film.length, string>>();
expectType<Equal<typeof film.columns, number>>();
expectType<Equal<typeof film.title, string>>();
expectType<Equal<ReturnType<typeof film.toObject>, Film>>();
expectType<Equal<ReturnType<typeof film.keys>, string[]>>();
const filmLength: string = film.get('length');

// Without such columns, and untyped, the row's own `length` and `columns` stay.
declare const user: Row<{ id: number; email: string }>;
expectType<Equal<typeof user.length, number>>();
expectType<Equal<typeof user.columns, readonly ColumnInfo[]>>();
const asOrderedRow: OrderedRow<{ id: number; email: string }> = user;
declare const untyped: Row;
expectType<Equal<typeof untyped.length, number>>();
expectType<Equal<typeof untyped.columns, readonly ColumnInfo[]>>();
expectType<Equal<typeof untyped.anything, unknown>>();

// A column named like a method is read with get(name); property access is the method.
declare const odd: Row<{ get: string; keys: number; toString: boolean }>;
const oddGet: string = odd.get('get');
const oddKeys: number = odd.get('keys');
expectType<Equal<ReturnType<typeof odd.keys>, string[]>>();
// @ts-expect-error `odd.get` is the method, not the column (it typed as method & string before)
const notTheColumn: string = odd.get;

// streamBatches: the row type first, as in query<T>() and stream<T>().
const ids = pgm.streamBatches<{ id: number }, number>('SELECT id FROM users', [], (rows) => rows.map((row) => row.id));
expectType<Equal<typeof ids, Observable<number>>>();
const firstOnly = pgm.streamBatches<{ id: number }>('SELECT id FROM users', [], (rows) => rows.map((row) => row.id + 1));
expectType<Equal<typeof firstOnly, Observable<unknown>>>();
const inferred = pgm.streamBatches('SELECT id FROM users', [], (rows: Row<{ id: number }>[]) => rows.map((row) => String(row.id)));
expectType<Equal<typeof inferred, Observable<string>>>();

// connection(fn) takes what cursor(fn) takes: the config name may be left out.
const scoped = pgm.connection((conn) => conn.query<{ n: number }>('SELECT 1 AS n'));
expectType<Equal<typeof scoped, Observable<Row<{ n: number }>>>>();
const cursorScoped = pgm.cursor((curs) => curs.query<{ n: number }>('SELECT 1 AS n'));
expectType<Equal<typeof scoped, typeof cursorScoped>>();
const lease: Observable<Connection> = pgm.connection();
const named = pgm.connection('default', (conn) => conn.query('SELECT 1'));
expectType<Equal<typeof named, Observable<Row>>>();

// rxpg's timeout error and RxJS's are two names, importable side by side.
declare const error: unknown;
const which = error instanceof StatementTimeoutError ? error.limit : error instanceof TimeoutError ? error.info : undefined;

// poolStats(): the pool's state plus its counts, on both managers; poolStats$() emits them.
declare const mym: MyManager;
expectType<Equal<ReturnType<typeof pgm.poolStats>, PoolStats>>();
expectType<Equal<ReturnType<typeof mym.poolStats>, PoolStats>>();
expectType<Equal<ReturnType<typeof pgm.poolStats$>, Observable<PoolStats>>>();
const asState: PoolState = pgm.poolStats();
// @ts-expect-error the figures are read-only
pgm.poolStats().timeouts = 0;
const pipelined: number = pgm.poolStats().pipelined;
// pipeline: how many independent statements may share a busy session's pipeline, a number.
pgm.createConn({ name: 'pipelined', connectionString: 'postgres://127.0.0.1/test', pipeline: 4 });
// @ts-expect-error pipeline is a depth, not a switch
pgm.createConn({ name: 'switched', connectionString: 'postgres://127.0.0.1/test', pipeline: true });

// rxpg/opentelemetry: instrument() takes either manager and gives back a handle to stop.
const handle: InstrumentationHandle = instrument(pgm);
instrument(mym, { queryText: false } satisfies InstrumentOptions).stop();
// @ts-expect-error an unknown option is a type error (and a ConfigurationError at run time)
instrument(pgm, { queryTxt: false });

// batch(): [sql, params?] pairs; one typed result per statement; BatchError is a QueryError.
const transfer = pgm.batch<{ id: number }>([['UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1]], ['SELECT id FROM accounts']]);
expectType<Equal<typeof transfer, Observable<BatchResult<{ id: number }>>>>();
const inScope = pgm.transaction((tx) => tx.batch([['SELECT 1']]));
expectType<Equal<typeof inScope, Observable<BatchResult>>>();
const onMysql: Observable<BatchResult> = mym.batch([['SELECT ?', [1]]], { isolationLevel: 'serializable' });
const statements: BatchStatement[] = [['SELECT 1'], ['SELECT $1', [2]]];
// @ts-expect-error a statement is an [sql, params?] pair, not a bare string
pgm.batch(['SELECT 1']);
// @ts-expect-error an unknown option (isolationLevel is the name)
pgm.batch([['SELECT 1']], { isolation: 'serializable' });
const failedAt = error instanceof BatchError ? error.index : undefined;
const asQueryError: QueryError | undefined = error instanceof BatchError ? error : undefined;

export { asOrderedRow, asQueryError, failedAt, onMysql, statements, transfer, asState, handle, filmLength, firstOnly, lease, notTheColumn, oddGet, oddKeys, pipelined, which };
