// `npm run demo`: rxpg on the configured server (DATABASE_URL), the machine's PostgreSQL on
// 127.0.0.1:5432, or an embedded PostgreSQL started just for this run.
import { concat, filter, lastValueFrom, map, reduce, take, toArray } from 'rxjs';
import { PgManager, logEventsTo, retryTransaction } from '../src/index.js';
import { findOrStartDatabase } from '../scripts/test-database.js';

const database = await findOrStartDatabase((line) => console.log(line));
console.log(`Using ${database.origin}.\n`);

const pgm = PgManager.getInstance();
pgm.createConn({ name: 'thatdb', connectionString: database.url, isolationLevel: 'autocommit', poolSize: 4 });
// Log statements the way PgManager's `pgmanager_sql` logger did, to the console.
const logging = pgm.events$.pipe(filter((event) => event.type === 'notice')).subscribe(logEventsTo(console));

// The seed's basic usage: a cursor scope, the first row as a dict.
const now = await lastValueFrom(pgm.cursor('thatdb', (curs) => curs.execute<{ now: Date; version: string }>('SELECT now() AS now, version() AS version')).pipe(take(1)));
console.log(`Connected at ${now.now.toISOString()} to ${String(now.version).split(' ').slice(0, 2).join(' ')}`);

// A pipeline of operators over a query: orders per customer above a threshold.
const table = `demo_orders_${process.pid}`;
await lastValueFrom(
  concat(
    pgm.query(`DROP TABLE IF EXISTS ${table}`, [], { conn: 'thatdb' }),
    pgm.query(
      `CREATE TABLE ${table} AS
         SELECT n AS id, (ARRAY['ada', 'grace', 'edsger', 'barbara'])[1 + n % 4] AS customer, (n * 7 % 100)::numeric AS amount
         FROM generate_series(1, 1000) AS n`,
      [],
      { conn: 'thatdb' },
    ),
  ),
  { defaultValue: null },
);
const totals = await lastValueFrom(
  pgm.query<{ customer: string; amount: string }>(`SELECT customer, amount FROM ${table} WHERE amount > $1 ORDER BY id`, [50], { conn: 'thatdb' }).pipe(
    map((row) => ({ customer: row.customer, amount: Number(row.amount) })),
    reduce((acc, order) => acc.set(order.customer, (acc.get(order.customer) ?? 0) + order.amount), new Map<string, number>()),
  ),
);
console.log('Totals of orders above 50:', Object.fromEntries(totals));

// A transaction: values come out only after COMMIT; serialization failures are retried.
const moved = await lastValueFrom(
  pgm.transaction(
    (tx) =>
      concat(
        tx.query(`UPDATE ${table} SET amount = amount - 5 WHERE id = $1 RETURNING id, amount`, [1]),
        tx.query(`UPDATE ${table} SET amount = amount + 5 WHERE id = $1 RETURNING id, amount`, [2]),
      ),
    { conn: 'thatdb', isolationLevel: 'serializable' },
  ).pipe(retryTransaction({ maxAttempts: 3 }), toArray()),
);
console.log('Moved 5 between orders:', moved.map((row) => row.toObject()));

// Ordered rows keep duplicate column names.
const duplicate = await lastValueFrom(pgm.query('SELECT 1 AS a, 2 AS a', [], { conn: 'thatdb' }));
console.log('Duplicate columns:', duplicate, '→ getAll:', duplicate.getAll('a'));

await lastValueFrom(pgm.query(`DROP TABLE ${table}`, [], { conn: 'thatdb' }), { defaultValue: null });
logging.unsubscribe();
await pgm.close();
await database.stop();
console.log('\nDone: every session closed.');
