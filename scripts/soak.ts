// `npm run soak`: SOAK_SECONDS (default 60) of the soak against the configured, local or
// embedded PostgreSQL; prints the figures and exits non-zero when a promise was broken.
// `npm run soak -- --failover`: against a primary and a synchronous standby of its own instead,
// with the primary stopped (immediate) and the standby promoted halfway through.
import { findOrStartDatabase } from './test-database.js';
import { startLocalCluster } from './local-cluster.js';
import { runSoak } from './soak-run.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 60);
const log = (line: string): void => console.log(line);
let result;
if (process.argv.includes('--failover')) {
  const password = 'rxpg_soak_failover';
  const cluster = await startLocalCluster({ password, standbys: 1, synchronous: true, log });
  const [standby] = cluster.standbys;
  const url = `postgresql://postgres:${password}@127.0.0.1:${cluster.primary.port},127.0.0.1:${standby.port}/postgres?target_session_attrs=read-write&sslmode=disable`;
  console.log(`Soak: ${seconds} s, 32 pipelines, random unsubscribes and pg_terminate_backend, a failover at ${seconds / 2} s, on a local primary and synchronous standby`);
  try {
    result = await runSoak({
      url,
      adminUrl: cluster.primary.url,
      seconds,
      log,
      failover: {
        afterSeconds: seconds / 2,
        perform: async () => {
          await cluster.primary.stop('immediate');
          await standby.promote();
          return standby.url;
        },
      },
    });
  } finally {
    await cluster.remove();
  }
} else {
  const database = await findOrStartDatabase(log);
  console.log(`Soak: ${seconds} s, 32 pipelines, random unsubscribes and pg_terminate_backend, on ${database.origin}`);
  result = await runSoak({ url: database.url, seconds, log });
  await database.stop();
}
const figures = result.figures;
console.log(
  `NOTIFY: ${figures.announcedOfAcknowledged} acknowledged transfers announced; ${figures.unannouncedInGaps} unannounced inside ${figures.gaps} signalled gaps ` +
    `(${figures.acknowledgedInGapWindows} acknowledged in gap windows, ${figures.listenKills} kills of the listen session); ${figures.unannouncedOutsideGaps} unannounced outside a gap (must be 0).`,
);
if (result.ok) {
  console.log(
    'Soak passed: money conserved, every acknowledged transfer in the ledger once and announced unless inside a signalled gap, sessions within the pool, none idle in transaction, memory flat.',
  );
} else {
  console.error(`Soak FAILED:\n- ${result.failures.join('\n- ')}`);
  process.exit(1);
}
