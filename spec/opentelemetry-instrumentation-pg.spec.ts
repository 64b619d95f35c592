// rxpg/opentelemetry with @opentelemetry/instrumentation-pg registered as well, as
// auto-instrumentation does. instrumentation-pg wraps pg.Client.prototype.query and ends its
// span only through the promise query() returns or the callback it was given; rxpg hands pg a
// statement object and uses neither, so every statement would leave a span open forever. While
// rxpg is instrumented, it hands pg its statements with tracing suppressed: no span is left open
// and none is counted twice. The registration is this file's first import, before pg loads.
import { instrumentationPgSdk as sdk, pgInstrumentation } from './support/register-instrumentation-pg.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { concat, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { instrument } from '../src/opentelemetry.js';
import { sessionsOf, testManager, uniqueName, useAdminClient, waitFor } from './support/database.js';

const PG_SCOPE = '@opentelemetry/instrumentation-pg';

/** instrumentation-pg's query spans, open or finished, whose text holds `marker`. */
function pgQuerySpans(marker: string): { open: number; finished: number } {
  const mentions = (attributes: Record<string, unknown>) => String(attributes['db.query.text'] ?? attributes['db.statement'] ?? '').includes(marker);
  return {
    open: [...sdk.openSpans.open].filter((span) => span.instrumentationScope.name === PG_SCOPE && mentions(span.attributes)).length,
    finished: sdk.spans.getFinishedSpans().filter((span) => span.instrumentationScope.name === PG_SCOPE && mentions(span.attributes)).length,
  };
}

describe('rxpg/opentelemetry with @opentelemetry/instrumentation-pg registered', () => {
  const admin = useAdminClient();
  after(() => {
    pgInstrumentation.disable();
    return sdk.shutdown();
  });

  it('has instrumentation-pg patching the pg that rxpg drives (the precondition of every check here)', () => {
    assert.equal((pg.Client.prototype.query as { __wrapped?: boolean }).__wrapped, true);
  });

  it('leaves no span open and counts none twice, for statements, streams, transactions, errors, cancels and resets', async () => {
    const { pgm, app } = testManager({ poolSize: 2 });
    const handle = instrument(pgm, { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    const marker = uniqueName('twice');
    // instrumentation-pg's own durations, summed: only the admin client adds to them (it awaits pg's promises).
    const pgDurations = async () => (await sdk.histogram('db.client.operation.duration', PG_SCOPE)).reduce((sum, point) => sum + point.value.count, 0);
    const durationsBefore = await pgDurations();
    await lastValueFrom(pgm.query(`SELECT 1 AS a /* ${marker} */`).pipe(toArray()));
    await lastValueFrom(pgm.command(`SELECT 2 AS b /* ${marker} */`));
    await lastValueFrom(pgm.stream(`SELECT n FROM generate_series(1, 500) AS n /* ${marker} */`, [], { batchSize: 50 }).pipe(toArray()));
    await firstValueFrom(pgm.stream(`SELECT n FROM generate_series(1, 500) AS n /* ${marker} first */`, [], { batchSize: 50 }));
    await lastValueFrom(pgm.transaction((tx) => concat(tx.query(`SELECT 3 AS c /* ${marker} */`), tx.command(`SELECT 4 AS d /* ${marker} */`))));
    await lastValueFrom(pgm.query(`SELECT nope /* ${marker} */`)).catch(() => undefined);
    assert.equal(await pgDurations(), durationsBefore, 'instrumentation-pg measured none of rxpg’s statements');
    await admin.query('SELECT 1');
    assert.equal(await pgDurations(), durationsBefore + 1, 'the positive control: it measures a query it ends');
    // Unsubscribed mid-statement and mid-transaction: the cancel, the ROLLBACK and the reset go to pg too.
    const sleeping = `SELECT pg_sleep(30) /* ${marker} */`;
    const running = pgm.transaction((tx) => concat(tx.command('SET LOCAL work_mem = 65536'), tx.query(sleeping))).subscribe();
    await waitFor(async () => (await sessionsOf(admin, app)).some((session) => session.query === sleeping), 'the sleep runs');
    running.unsubscribe();
    await waitFor(() => pgm.poolState().inUse === 0, 'the session came back');

    const rxpgSpans = sdk.spans.getFinishedSpans().filter((span) => span.instrumentationScope.name === 'rxpg' && String(span.attributes['db.query.text']).includes(marker));
    assert.equal(rxpgSpans.length, 8, 'rxpg traced each statement once');
    assert.deepEqual(pgQuerySpans(marker), { open: 0, finished: 0 }, 'instrumentation-pg started no span for them');
    assert.deepEqual(sdk.openSpans.names(PG_SCOPE).filter((name) => name.startsWith('pg.query')), [], 'and none for the resets rxpg sends');

    // The positive control: stopped, rxpg no longer suppresses, and instrumentation-pg's span stays open.
    handle.stop();
    const after = uniqueName('leaks');
    await lastValueFrom(pgm.query(`SELECT 5 AS e /* ${after} */`));
    assert.deepEqual(pgQuerySpans(after), { open: 1, finished: 0 }, 'without rxpg’s instrumentation the span is never ended');
    await pgm.close();
  });
});
