// A failover under load, against a primary and a synchronous standby of the test's own:
// pipelines run money transfers while the primary is stopped (`pg_ctl stop -m immediate`) and
// the standby promoted. Callers see only typed errors, bounded in time; new work succeeds on the
// new primary without any call from the user; no acknowledged transfer is lost, none is applied
// twice or in part; the pool keeps its bound; retryTransaction() carries a caller through; the
// listen session follows the primary, signals the gap and delivers again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { concat, filter, firstValueFrom, lastValueFrom, TimeoutError, timeout, toArray } from 'rxjs';
import { ListenGap, PgManager, retryTransaction, RxpgError, type HostEvent, type ListenStatus, type Notification } from '../src/index.js';
import { startLocalCluster, type LocalCluster } from '../scripts/local-cluster.js';
import { waitFor, watchPoolBound } from './support/database.js';
import { testPassword } from './support/secrets.js';

const password = testPassword('failover');
const ACCOUNTS = 10;
const OPENING_BALANCE = 1000;

interface Outcome {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly amount: number;
  /** `acknowledged` (COMMIT answered), or the error's class and reason. */
  readonly result: string;
  readonly endedAt: number;
}

describe('failover under load (a primary and a synchronous standby of the test’s own)', () => {
  let cluster: LocalCluster;
  /** Closed after the test whatever happened, so that a failure does not hold the process open. */
  const managers: PgManager[] = [];

  before(async () => {
    cluster = await startLocalCluster({ password, standbys: 1, synchronous: true });
  });

  after(async () => {
    await Promise.all(managers.map((manager) => manager.close()));
    await cluster.remove();
  });

  it('keeps every acknowledged transfer exactly once, gives callers typed errors only, and serves writes on the promoted standby within seconds', async () => {
    const hosts = `127.0.0.1:${cluster.primary.port},127.0.0.1:${cluster.standbys[0].port}`;
    const url = `postgresql://postgres:${encodeURIComponent(password)}@${hosts}/postgres`;
    const channel = `rxpg_failover_${process.pid}`;
    const pgm = new PgManager();
    managers.push(pgm);
    const poolSize = 4;
    pgm.createConn({ name: 'bank', connectionString: `${url}?target_session_attrs=read-write&application_name=rxpg_failover`, poolSize, acquireTimeout: 5000, connectTimeout: 5 });
    pgm.createConnListen({ name: 'events', connectionString: url, channel, reconnectDelay: 50, maxReconnectDelay: 500 });
    const watch = watchPoolBound(pgm, 'bank');
    const hostEvents: HostEvent[] = [];
    pgm.events$.pipe(filter((event): event is HostEvent => event.type === 'host' && event.conn === 'bank')).subscribe((event) => hostEvents.push(event));
    const standbyTries = (): number => hostEvents.filter((event) => event.port === cluster.standbys[0].port).length;

    await lastValueFrom(
      concat(
        pgm.command('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)', [], { conn: 'bank' }),
        pgm.command('CREATE TABLE transfers (id text PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL, amount int NOT NULL)', [], { conn: 'bank' }),
        pgm.command('INSERT INTO accounts SELECT n, $1 FROM generate_series(1, $2) AS n', [OPENING_BALANCE, ACCOUNTS], { conn: 'bank' }),
      ),
    );

    // The listen session: notifications and gaps, and its status.
    const received: (Notification | ListenGap)[] = [];
    const statuses: ListenStatus[] = [];
    const listening = pgm.notifications(channel, { conn: 'events', gaps: true }).subscribe((value) => received.push(value));
    const statusWatch = pgm.listenStatus$('events').subscribe((status) => statuses.push(status));
    await waitFor(() => statuses.at(-1)?.state === 'listening', 'the listen session listens');
    await lastValueFrom(pgm.notify(channel, 'before', { conn: 'bank' }), { defaultValue: null });
    await waitFor(() => received.some((value) => !(value instanceof ListenGap) && value.payload === 'before'), 'the first notification arrives');

    // Transfers: each a transaction of two updates and a record, from 4 pipelines.
    const outcomes: Outcome[] = [];
    let running = true;
    let sequence = 0;
    const transfer = async (pipeline: number): Promise<void> => {
      while (running) {
        const id = `p${pipeline}-${sequence++}`;
        const from = 1 + (sequence % ACCOUNTS);
        const to = 1 + ((sequence * 7 + pipeline) % ACCOUNTS);
        const amount = 1 + (sequence % 13);
        const result = await lastValueFrom(
          pgm
            .transaction(
              (tx) =>
                concat(
                  // The lower id first, so that two transfers between the same accounts never deadlock.
                  ...(from <= to
                    ? [tx.command('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, from]), tx.command('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, to])]
                    : [tx.command('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, to]), tx.command('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, from])]),
                  tx.command('INSERT INTO transfers VALUES ($1, $2, $3, $4)', [id, from, to, amount]),
                ),
              { conn: 'bank' },
            )
            // Bounded: a caller that waited longer than this would be a hang, not a typed error.
            .pipe(timeout(20_000)),
          { defaultValue: undefined },
        ).then(
          () => 'acknowledged',
          (error: unknown) => {
            if (error instanceof TimeoutError) return 'unbounded wait (20 s)';
            if (error instanceof RxpgError) return `${error.name}/${error.reason}`;
            return `untyped: ${String(error)}`;
          },
        );
        outcomes.push({ id, from, to, amount, result, endedAt: Date.now() });
        // A failed caller tries its next transfer a moment later, as an application would.
        if (result !== 'acknowledged') await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    const pipelines = Promise.all([0, 1, 2, 3].map(transfer));
    const acknowledged = (): number => outcomes.filter((outcome) => outcome.result === 'acknowledged').length;
    await waitFor(() => acknowledged() >= 50, 'transfers commit before the failover', 20_000);

    // The failover: the primary dies, the standby is promoted.
    const killedAt = Date.now();
    await cluster.primary.stop('immediate');
    // A caller who starts during the outage, with retries enough to outlast it.
    const retried = lastValueFrom(
      pgm
        .transaction((tx) => tx.query<{ n: number }>("INSERT INTO transfers VALUES ('retried', 1, 1, 0) RETURNING 1 AS n"), { conn: 'bank' })
        .pipe(retryTransaction({ maxAttempts: 12, baseDelayMillis: 50 })),
    );
    // A failover takes a while to decide: the pool meets the standby (still in recovery) a few
    // times before it is promoted, as it would under a real failover manager.
    await waitFor(() => standbyTries() >= 3, 'the pool tries the standby while the primary is down', 20_000);
    await cluster.standbys[0].promote();
    const promotedAt = Date.now();
    await waitFor(() => outcomes.some((outcome) => outcome.result === 'acknowledged' && outcome.endedAt > promotedAt), 'a write succeeds on the promoted standby', 20_000);
    const firstWriteAt = Math.min(...outcomes.filter((outcome) => outcome.result === 'acknowledged' && outcome.endedAt > promotedAt).map((outcome) => outcome.endedAt));
    const settled = acknowledged();
    await waitFor(() => acknowledged() >= settled + 50, 'transfers go on after the failover', 20_000);
    running = false;
    await pipelines;
    assert.equal((await retried).n, 1, 'retryTransaction carried its caller through the failover');

    // Every error a caller saw is typed and of a kind a failover explains.
    const kinds = new Map<string, number>();
    for (const outcome of outcomes) kinds.set(outcome.result, (kinds.get(outcome.result) ?? 0) + 1);
    const expectedKinds = new Set(['acknowledged', 'ConnectionError/connection', 'QueryError/outcome_unknown', 'ConnectionError/outcome_unknown', 'PoolError/pool_timeout']);
    for (const kind of kinds.keys()) assert.ok(expectedKinds.has(kind), `unexpected outcome ${kind}: ${JSON.stringify([...kinds])}`);
    assert.ok([...kinds.keys()].some((kind) => kind !== 'acknowledged'), 'positive control: the failover cut some transfers short');

    // The books on the new primary: every acknowledged transfer once, nothing else but the
    // transfers whose COMMIT outcome was unknown, and the balances match the transfers exactly.
    const books = new PgManager();
    managers.push(books);
    books.createConn({ connectionString: cluster.standbys[0].url });
    const stored = await lastValueFrom(books.query<{ id: string; from_id: number; to_id: number; amount: number }>('SELECT id, from_id, to_id, amount FROM transfers').pipe(toArray()));
    const balances = await lastValueFrom(books.query<{ id: number; balance: string }>('SELECT id, balance FROM accounts ORDER BY id').pipe(toArray()));
    const storedIds = new Set(stored.map((row) => row.id));
    const byId = new Map(outcomes.map((outcome) => [outcome.id, outcome]));
    const lost = outcomes.filter((outcome) => outcome.result === 'acknowledged' && !storedIds.has(outcome.id));
    assert.deepEqual(lost, [], 'no acknowledged transfer is lost');
    const unexplained = stored.filter((row) => row.id !== 'retried' && !/outcome_unknown|acknowledged/.test(byId.get(row.id)?.result ?? ''));
    assert.deepEqual(unexplained, [], 'every stored transfer was acknowledged, or its COMMIT outcome was reported unknown');
    const expected = new Map<number, number>(Array.from({ length: ACCOUNTS }, (_, index) => [index + 1, OPENING_BALANCE]));
    for (const row of stored) {
      expected.set(row.from_id, (expected.get(row.from_id) ?? 0) - row.amount);
      expected.set(row.to_id, (expected.get(row.to_id) ?? 0) + row.amount);
    }
    assert.deepEqual(
      balances.map((row) => [row.id, Number(row.balance)]),
      [...expected],
      'each stored transfer applied exactly once and in whole (money conserved)',
    );
    assert.equal(balances.reduce((sum, row) => sum + Number(row.balance), 0), ACCOUNTS * OPENING_BALANCE);

    // The listen session followed the primary: reconnected, said there was a gap, delivers again.
    const listensAgain = (): boolean => {
      const lost = statuses.findIndex((status) => status.state === 'reconnecting');
      return lost >= 0 && statuses.slice(lost).some((status) => status.state === 'listening');
    };
    await waitFor(listensAgain, () => `the listen session listens again (statuses: ${statuses.map((status) => status.state).join(', ')})`, 20_000);
    await lastValueFrom(pgm.notify(channel, 'after', { conn: 'bank' }), { defaultValue: null });
    await waitFor(() => received.some((value) => !(value instanceof ListenGap) && value.payload === 'after'), 'a notification after the failover arrives', 10_000);
    const afterIndex = received.findIndex((value) => !(value instanceof ListenGap) && value.payload === 'after');
    const gaps = received.slice(0, afterIndex).filter((value) => value instanceof ListenGap);
    assert.equal(gaps.length, 1, 'one gap signalled before the first notification after the failover');

    assert.deepEqual(watch.violations, [], 'the pool held no more sessions than its size');
    watch.stop();
    listening.unsubscribe();
    statusWatch.unsubscribe();
    await pgm.close();
    const leftover = await firstValueFrom(books.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'rxpg_failover'"));
    assert.equal(leftover.n, 0, 'no session of the pool is left on the new primary');
    await books.close();

    const summary = {
      secondsToFirstWriteAfterPromotion: (firstWriteAt - promotedAt) / 1000,
      secondsFromKillToFirstWrite: (firstWriteAt - killedAt) / 1000,
      secondsFromKillToPromotion: (promotedAt - killedAt) / 1000,
      outcomes: Object.fromEntries(kinds),
      stored: stored.length,
    };
    console.log(`failover figures: ${JSON.stringify(summary)}`);
    // Generous (the goal, under 3 s, is the benchmark's to track): within seconds, not at a timeout.
    assert.ok(firstWriteAt - promotedAt < 10_000, `the first write after the promotion came ${(firstWriteAt - promotedAt) / 1000} s after it`);
  });
});
