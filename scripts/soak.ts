// `npm run soak`: SOAK_SECONDS (default 60) of the soak against the configured, local or
// embedded PostgreSQL; prints the figures and exits non-zero when a promise was broken.
import { findOrStartDatabase } from './test-database.js';
import { runSoak } from './soak-run.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 60);
const database = await findOrStartDatabase((line) => console.log(line));
console.log(`Soak: ${seconds} s, 32 pipelines, random unsubscribes and pg_terminate_backend, on ${database.origin}`);
const result = await runSoak({ url: database.url, seconds, log: (line) => console.log(line) });
await database.stop();
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
