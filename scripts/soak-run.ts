// The soak: 32 pipelines mixing queries, streams, money transfers and a listener against one
// PostgreSQL, with random unsubscribes and random pg_terminate_backend of rxpg's sessions.
// At the end the promises are checked: money is conserved, every acknowledged transfer is in
// the ledger exactly once and was announced by NOTIFY unless it may have committed inside a gap
// the listen session signalled, no session beyond the pools, none idle in transaction, memory flat.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { concat, count, filter, firstValueFrom, lastValueFrom, takeUntil, timeout, timer } from 'rxjs';
import { ListenGap, PgManager, retryTransaction, RxpgError } from '../src/index.js';

export interface SoakOptions {
  readonly url: string;
  readonly seconds: number;
  /**
   * Goes on past `seconds` until this many transfers were acknowledged, up to `maxSeconds`: on a
   * loaded machine 6 s may give too few for the checks to mean something. Default 0.
   */
  readonly minTransfers?: number;
  /** The longest the soak runs while it waits for `minTransfers`. Default `seconds`. */
  readonly maxSeconds?: number;
  readonly pipelines?: number;
  readonly log?: (line: string) => void;
  /**
   * A failover in the middle of the run: after `afterSeconds`, `perform` stops the primary and
   * promotes a standby, and returns the new primary's URL (the soak's own admin session moves
   * there). `url` must then list both hosts with `target_session_attrs=read-write`.
   */
  readonly failover?: { readonly afterSeconds: number; readonly perform: () => Promise<string> };
  /** Where the soak's own admin session (pg, one host) connects; default `url`. */
  readonly adminUrl?: string;
}

export interface SoakResult {
  readonly ok: boolean;
  readonly failures: string[];
  readonly figures: Record<string, number | string>;
}

const ACCOUNTS = 20;
const START_BALANCE = 1000;
const POOL_SIZE = 8;
/**
 * How long before the listen session was lost a commit's notification may still be lost with it:
 * the listening backend must read the commit's entry off the queue and write it to its socket.
 */
const DELIVERY_MARGIN_MILLIS = 250;

/** When a transfer may have committed: from its subscription to its acknowledgement (epoch ms). */
interface Acknowledged {
  readonly startedAt: number;
  readonly ackAt: number;
}

/** A stretch of time in which notifications may have been dropped (epoch ms; `to` Infinity: still open). */
interface GapWindow {
  readonly from: number;
  readonly to: number;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { url, seconds, minTransfers = 0, pipelines = 32, log = () => {}, failover } = options;
  const maxSeconds = Math.max(seconds, options.maxSeconds ?? seconds);
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const accounts = `soak_accounts_${suffix}`;
  const ledger = `soak_ledger_${suffix}`;
  const channel = `soak_${suffix}`;
  const app = `rxpg_soak_${suffix}`;
  const openAdmin = async (connectionString: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString, application_name: 'rxpg_soak_admin' });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  let admin = await openAdmin(options.adminUrl ?? url);
  await admin.query(`CREATE TABLE ${accounts} (id int PRIMARY KEY, balance bigint NOT NULL)`);
  await admin.query(`INSERT INTO ${accounts} SELECT n, ${START_BALANCE} FROM generate_series(1, ${ACCOUNTS}) AS n`);
  await admin.query(`CREATE TABLE ${ledger} (id bigserial PRIMARY KEY, transfer_id uuid NOT NULL UNIQUE, from_id int, to_id int, amount int)`);

  const pgm = new PgManager({ cancelGraceMillis: 2000, closeGraceMillis: 3000 });
  pgm.createConn({ connectionString: url, applicationName: app, poolSize: POOL_SIZE, acquireTimeout: 10_000, connectTimeout: 5 });
  pgm.createConnListen({ name: 'soak_listen', copyDsn: 'default', applicationName: `${app}_listen`, channel, reconnectDelay: 20, healthCheckInterval: 1000 });

  const counts: Record<string, number> = { queries: 0, streams: 0, transfers: 0, unsubscribed: 0, kills: 0, listenKills: 0, errors: 0, gaps: 0, statusGaps: 0 };
  const errorsByReason: Record<string, number> = {};
  const acknowledged = new Map<string, Acknowledged>();
  const announced = new Set<string>();
  const failures: string[] = [];

  // The gaps as the subscriber is told of them (in-band ListenGap markers), and as listenStatus$
  // reports them; a loss not yet healed is open (from the first 'reconnecting' on).
  const signalledGaps: ListenGap[] = [];
  let openSince: number | undefined;
  const listenKills: number[] = [];
  const listening = pgm.notifications(channel, { conn: 'soak_listen', gaps: true }).subscribe((event) => {
    if (event instanceof ListenGap) {
      counts.gaps++;
      signalledGaps.push(event);
    } else announced.add(event.payload);
  });
  const status = pgm.listenStatus$('soak_listen').subscribe((state) => {
    if (state.state === 'reconnecting') openSince ??= Date.now();
    else if (state.state === 'gap') {
      counts.statusGaps++;
      openSince = undefined;
    }
  });
  // Transfers start once the channel is LISTENed: before that, nobody could hear them.
  await firstValueFrom(pgm.listenStatus$('soak_listen').pipe(filter((state) => state.state === 'listening'), timeout(10_000)));
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const hardDeadline = started + maxSeconds * 1000;
  /** Whether the soak goes on `marginMillis` from now: until the deadline, or longer while transfers are too few. */
  const goesOn = (marginMillis = 0): boolean => {
    const now = Date.now() + marginMillis;
    return now < deadline || (counts.transfers < minTransfers && now < hardDeadline);
  };

  const noteError = (error: unknown): void => {
    counts.errors++;
    const reason = error instanceof RxpgError ? error.reason : 'other';
    errorsByReason[reason] = (errorsByReason[reason] ?? 0) + 1;
    if (!(error instanceof RxpgError)) failures.push(`an untyped error escaped: ${String(error)}`);
  };

  const transfer = () => {
    const from = 1 + Math.floor(Math.random() * ACCOUNTS);
    let to = 1 + Math.floor(Math.random() * (ACCOUNTS - 1));
    if (to >= from) to++;
    const amount = 1 + Math.floor(Math.random() * 50);
    const id = randomUUID();
    // Lock in id order, so transfers never deadlock each other (deadlocks would still retry).
    const [first, second] = from < to ? [from, to] : [to, from];
    return {
      id,
      run: pgm
        .transaction((tx) =>
          concat(
            tx.query(`SELECT id FROM ${accounts} WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, [first, second]),
            tx.query(`UPDATE ${accounts} SET balance = balance - $1 WHERE id = $2`, [amount, from]),
            tx.query(`UPDATE ${accounts} SET balance = balance + $1 WHERE id = $2`, [amount, to]),
            tx.query(`INSERT INTO ${ledger} (transfer_id, from_id, to_id, amount) VALUES ($1, $2, $3, $4)`, [id, from, to, amount]),
            pgm.notify(channel, id, { tx }),
          ),
        )
        .pipe(retryTransaction({ maxAttempts: 3 }), count()),
    };
  };

  const pipeline = async (): Promise<void> => {
    while (goesOn()) {
      const dice = Math.random();
      const unsubscribeEarly = Math.random() < 0.15;
      const stop = timer(Math.floor(Math.random() * 20));
      try {
        if (dice < 0.4) {
          const { id, run } = transfer();
          const startedAt = Date.now();
          const done = await lastValueFrom(unsubscribeEarly ? run.pipe(takeUntil(stop)) : run, { defaultValue: -1 });
          if (done >= 0) {
            acknowledged.set(id, { startedAt, ackAt: Date.now() });
            counts.transfers++;
          } else counts.unsubscribed++;
        } else if (dice < 0.75) {
          const statement = pgm.query<{ total: string }>(`SELECT sum(balance) AS total FROM ${accounts}`);
          const total = await lastValueFrom(unsubscribeEarly ? statement.pipe(takeUntil(stop)) : statement, { defaultValue: null });
          if (total === null) counts.unsubscribed++;
          else {
            counts.queries++;
            if (Number(total.total) !== ACCOUNTS * START_BALANCE) failures.push(`a reader saw ${total.total} in all`);
          }
        } else {
          const rows = pgm.stream(`SELECT id FROM ${ledger}`, [], { batchSize: 100 }).pipe(count());
          const seen = await lastValueFrom(unsubscribeEarly ? rows.pipe(takeUntil(stop)) : rows, { defaultValue: -1 });
          if (seen < 0) counts.unsubscribed++;
          else counts.streams++;
        }
      } catch (error) {
        noteError(error);
      }
    }
  };

  // The failover, when asked for: the chaos below pauses while it runs (its admin session dies with the primary).
  let failingOver: Promise<void> | undefined;
  let promotedAt: number | undefined;
  const failoverTimer =
    failover === undefined
      ? undefined
      : setTimeout(() => {
          failingOver = (async () => {
            const killedAt = Date.now();
            log(`failover: stopping the primary ${((killedAt - started) / 1000).toFixed(1)} s into the run`);
            const newUrl = await failover.perform();
            promotedAt = Date.now();
            log(`failover: the standby was promoted ${((promotedAt - killedAt) / 1000).toFixed(2)} s after the primary stopped`);
            await admin.end().catch(() => {});
            admin = await openAdmin(newUrl);
          })();
        }, failover.afterSeconds * 1000);

  const chaos = (async () => {
    while (goesOn(500)) {
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 700));
      if (failingOver !== undefined) await failingOver;
      const victims = await admin.query<{ pid: number; application_name: string }>(
        "SELECT pid, application_name FROM pg_stat_activity WHERE application_name LIKE $1 || '%' ORDER BY random() LIMIT 1",
        [app],
      );
      for (const victim of victims.rows) {
        const issuedAt = Date.now();
        const { terminated } = (await admin.query<{ terminated: boolean }>('SELECT pg_terminate_backend($1) AS terminated', [victim.pid])).rows[0];
        if (!terminated) continue;
        counts.kills++;
        if (victim.application_name !== app) {
          counts.listenKills++;
          listenKills.push(issuedAt);
        }
      }
    }
  })();

  let rssAfterWarmup = 0;
  const warmup = setTimeout(() => (rssAfterWarmup = process.memoryUsage().rss), Math.min(10_000, (seconds * 1000) / 3));
  await Promise.all([...Array.from({ length: pipelines }, () => pipeline()), chaos]);
  const ranSeconds = Math.round((Date.now() - started) / 100) / 10;
  clearTimeout(warmup);
  clearTimeout(failoverTimer);
  if (failingOver !== undefined) await failingOver;
  if (failover !== undefined && promotedAt === undefined) failures.push('the failover did not happen within the run');
  const firstAckAfterPromotion = promotedAt === undefined ? undefined : Math.min(...[...acknowledged.values()].map((transfer) => transfer.ackAt).filter((at) => at > promotedAt!));
  if (promotedAt !== undefined && !Number.isFinite(firstAckAfterPromotion)) failures.push('no transfer was acknowledged after the promotion');
  global.gc?.();
  const rssAtEnd = process.memoryUsage().rss;

  // Where notifications may have been dropped: each signalled gap, from a little before the loss
  // was noticed (or before the kill of the listen session that caused it, which the client only
  // notices a moment later) until it listened again; and a loss not healed yet, to the end.
  const gapWindows = (): GapWindow[] => {
    const losses = signalledGaps.map((gap) => ({ lostAt: gap.lostAt, listeningAt: gap.listeningAt }));
    if (openSince !== undefined) losses.push({ lostAt: openSince, listeningAt: Infinity });
    return losses.map((loss, index) => {
      // The first kill of the listen session after the previous gap healed, if it came before this loss was noticed.
      const healed = index > 0 ? losses[index - 1].listeningAt : -Infinity;
      const kill = listenKills.find((at) => at > healed && at <= loss.lostAt) ?? Infinity;
      return { from: Math.min(loss.lostAt, kill) - DELIVERY_MARGIN_MILLIS, to: loss.listeningAt };
    });
  };
  const inGap = (transfer: Acknowledged, windows: GapWindow[]): boolean => windows.some((gap) => transfer.startedAt <= gap.to && transfer.ackAt >= gap.from);
  const unannouncedOutsideGaps = (): string[] => {
    const windows = gapWindows();
    return [...acknowledged].filter(([id, transfer]) => !announced.has(id) && !inGap(transfer, windows)).map(([id]) => id);
  };

  // Let the listener catch up with the last commits before comparing.
  const settle = Date.now() + 5000;
  while (Date.now() < settle && (openSince !== undefined || unannouncedOutsideGaps().length > 0)) await new Promise((resolve) => setTimeout(resolve, 50));
  const total = Number((await admin.query(`SELECT sum(balance) AS total FROM ${accounts}`)).rows[0].total);
  const inLedger = new Map<string, number>((await admin.query<{ transfer_id: string; n: string }>(`SELECT transfer_id, count(*) AS n FROM ${ledger} GROUP BY transfer_id`)).rows.map((row) => [row.transfer_id, Number(row.n)]));
  const sessions = (await admin.query<{ state: string; application_name: string }>("SELECT state, application_name FROM pg_stat_activity WHERE application_name LIKE $1 || '%'", [app])).rows;

  if (total !== ACCOUNTS * START_BALANCE) failures.push(`money not conserved: ${total} instead of ${ACCOUNTS * START_BALANCE}`);
  const missing = [...acknowledged.keys()].filter((id) => inLedger.get(id) !== 1);
  if (missing.length > 0) failures.push(`${missing.length} acknowledged transfers not in the ledger exactly once`);
  const windows = gapWindows();
  const unannounced = [...acknowledged.keys()].filter((id) => !announced.has(id));
  const lostOutsideGaps = unannouncedOutsideGaps();
  const unannouncedInGaps = unannounced.length - lostOutsideGaps.length;
  const acknowledgedInGaps = [...acknowledged.values()].filter((transfer) => inGap(transfer, windows)).length;
  // The positive controls of the check below: there were transfers, and not all of them excused.
  if (acknowledged.size === 0) failures.push('no transfer was acknowledged, so no announcement was checked');
  else if (acknowledgedInGaps === acknowledged.size) failures.push(`all ${acknowledged.size} acknowledged transfers fell inside gap windows, so no announcement was checked`);
  if (lostOutsideGaps.length > 0) {
    failures.push(
      `${lostOutsideGaps.length} acknowledged transfers were never announced by NOTIFY outside any signalled gap (e.g. ${lostOutsideGaps.slice(0, 3).join(', ')})`,
    );
  }
  // Every gap listenStatus$ reported reached the subscriber in-band, and every kill of the listen
  // session was followed by a signalled gap (or the session is still reconnecting).
  if (counts.gaps !== counts.statusGaps) failures.push(`listenStatus$ reported ${counts.statusGaps} gaps, the subscriber saw ${counts.gaps} ListenGap markers`);
  const unsignalledKills = listenKills.filter((at) => openSince === undefined && !signalledGaps.some((gap) => gap.listeningAt > at));
  if (unsignalledKills.length > 0) failures.push(`${unsignalledKills.length} kills of the listen session were never followed by a signalled gap`);
  const pooled = sessions.filter((session) => session.application_name === app);
  if (pooled.length > POOL_SIZE) failures.push(`${pooled.length} pooled sessions, more than the pool size ${POOL_SIZE}`);
  if (sessions.filter((session) => session.application_name !== app).length > 1) failures.push('more than one listen session');
  const stuck = sessions.filter((session) => session.state === 'idle in transaction' || session.state === 'idle in transaction (aborted)');
  if (stuck.length > 0) failures.push(`${stuck.length} sessions idle in transaction`);
  const rssGrowthMB = rssAfterWarmup > 0 ? (rssAtEnd - rssAfterWarmup) / 1048576 : 0;
  if (rssGrowthMB > 32) failures.push(`RSS grew by ${rssGrowthMB.toFixed(1)} MB after warm-up`);

  listening.unsubscribe();
  status.unsubscribe();
  const closing = Date.now();
  await pgm.close();
  const closeMillis = Date.now() - closing;
  await admin.query(`DROP TABLE ${accounts}; DROP TABLE ${ledger}`);
  await admin.end();

  const figures = {
    seconds,
    ranSeconds,
    pipelines,
    ...counts,
    acknowledged: acknowledged.size,
    ledgerRows: inLedger.size,
    announcedOfAcknowledged: `${acknowledged.size - unannounced.length}/${acknowledged.size}`,
    acknowledgedInGapWindows: acknowledgedInGaps,
    unannouncedInGaps,
    unannouncedOutsideGaps: lostOutsideGaps.length,
    gapWindowsMillis: JSON.stringify(windows.map((gap) => (Number.isFinite(gap.to) ? gap.to - gap.from : 'open'))),
    errorsByReason: JSON.stringify(errorsByReason),
    pooledSessionsAtEnd: pooled.length,
    rssGrowthMB: Number(rssGrowthMB.toFixed(1)),
    closeMillis,
    ...(promotedAt === undefined || firstAckAfterPromotion === undefined ? {} : { secondsFromPromotionToFirstTransfer: (firstAckAfterPromotion - promotedAt) / 1000 }),
  };
  log(JSON.stringify(figures, null, 2));
  return { ok: failures.length === 0, failures, figures };
}
