// `npm test`: finds or starts PostgreSQL once, then runs every spec and marble file with node's
// test runner against it, and stops what it started.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { findMysql, findOrStartDatabase } from './test-database.js';

const started = Date.now();
const database = await findOrStartDatabase((line) => console.log(line));
console.log(`Tests run against ${database.origin}: ${database.url.replace(/:[^:@/]*@/, ':***@')}`);
const mysqlUrl = await findMysql();
if (mysqlUrl) {
  console.log(`MyManager tests run against ${mysqlUrl.replace(/:[^:@/]*@/, ':***@')}`);
} else if (process.env.RXPG_REQUIRE_MYSQL === '1') {
  console.error('RXPG_REQUIRE_MYSQL=1 but no MySQL/MariaDB server answers (MYSQL_URL or 127.0.0.1:3306): start it first.');
  await database.stop();
  process.exit(1);
} else {
  console.log('MyManager tests SKIPPED: no MySQL/MariaDB server answers at MYSQL_URL or 127.0.0.1:3306.');
}

if (!existsSync('/usr/sbin/pgbouncer') && spawnSync('sh', ['-c', 'command -v pgbouncer'], { stdio: 'ignore' }).status !== 0) {
  if (process.env.RXPG_REQUIRE_PGBOUNCER === '1') {
    console.error('RXPG_REQUIRE_PGBOUNCER=1 but there is no pgbouncer binary: apt-get install pgbouncer first.');
    await database.stop();
    process.exit(1);
  }
  console.log('PgBouncer tests SKIPPED: no pgbouncer binary (apt-get install pgbouncer).');
}

const files = ['spec', 'marbles'].flatMap((dir) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.spec.ts'))
    .sort()
    .map((name) => `${dir}/${name}`),
);
const filter = process.argv.slice(2);
const selected = filter.length > 0 ? files.filter((file) => filter.some((part) => file.includes(part))) : files;

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    // A test that hangs fails after 5 minutes instead of holding the run. The limit also holds
    // each file as a whole: spec/readme.spec.ts runs some 20 blocks, each in a process of its own,
    // and took 90 s at a load average of 7 and 200 s at 13-15, past the 2 minutes this once was.
    ['--expose-gc', '--import', 'tsx', '--import', './spec/support/secret-watch.ts', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', ...selected],
    { stdio: 'inherit', env: { ...process.env, DATABASE_URL: database.url, MYSQL_URL: mysqlUrl ?? '' } },
  );
  // A test that fails while holding a lease keeps its process alive; never let that hang CI.
  const limit = setTimeout(() => {
    console.error('The test run exceeded 10 minutes: stopping it.');
    child.kill('SIGKILL');
  }, 10 * 60_000);
  child.on('exit', (exitCode, signal) => {
    clearTimeout(limit);
    resolve(exitCode ?? (signal ? 1 : 0));
  });
});
await database.stop();
console.log(`Test run took ${((Date.now() - started) / 1000).toFixed(1)} s.`);
process.exit(code);
