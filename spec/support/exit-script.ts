// Run by spec/process-exit.spec.ts in a child process: does some work with rxpg and never calls
// close(). It prints `ready` once the work is done (or is held open), then whatever it sees.
import { filter, first, lastValueFrom } from 'rxjs';
import { PgManager } from '../../src/index.js';
import { MyManager } from '../../src/mysql.js';

const mode = process.argv[2];
const print = (line: string): void => void process.stdout.write(`${line}\n`);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const applicationName = process.env.EXIT_SCRIPT_APP ?? 'rxpg_exit_script';

if (mode === 'mysql') {
  const mym = MyManager.getInstance();
  mym.createConn({ connectionString: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', applicationName });
  await lastValueFrom(mym.query('SELECT 1 AS n'));
  print('ready');
} else {
  const pgm = PgManager.getInstance();
  pgm.createConn({ connectionString: databaseUrl, applicationName, poolSize: 2 });
  await lastValueFrom(pgm.query('SELECT 1 AS n'));
  if (mode === 'query') {
    print('ready');
  } else if (mode === 'lease') {
    // A lease held and never returned: the process has work in hand and must stay.
    pgm.connection().subscribe(() => print('ready'));
  } else if (mode === 'running') {
    // A statement still running when the script's own code is done: the process waits for its row.
    pgm.query('SELECT 7 AS n FROM pg_sleep(1.5)').subscribe((row) => print(`row ${String(row.n)}`));
    print('ready');
  } else if (mode === 'listen') {
    // A subscribed listener: notifications may come at any time, so the process must stay.
    const channel = process.env.EXIT_SCRIPT_CHANNEL ?? 'rxpg_exit_script';
    pgm.createConnListen({ name: 'listen', copyDsn: 'default', applicationName });
    const notes = pgm.notifications(channel);
    notes.pipe(filter((note) => note.payload === 'hello'), first()).subscribe(() => print('ready'));
    notes.subscribe();
    // Sent until the listener has heard one: LISTEN may not be in place for the first.
    const sender = setInterval(() => pgm.notify(channel, 'hello').subscribe(), 100);
    notes.pipe(first()).subscribe(() => clearInterval(sender));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}
