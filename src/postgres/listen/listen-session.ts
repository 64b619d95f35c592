import { BehaviorSubject, Observable, Subject, throwError, timeout, timer, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { describeTarget, type ConnectionParams } from '../../driver/connection-params.js';
import type { Driver } from '../../driver/driver.js';
import { ConnectionError } from '../../errors/connection-error.js';
import { EngineUnsupportedError } from '../../errors/engine-unsupported-error.js';
import { RxpgError } from '../../errors/rxpg-error.js';
import type { EmitEvent } from '../../events/db-event.js';
import { Session } from '../../pool/session.js';
import { classifyListenFault } from './listen-fault.js';
import { refuseListen } from './refuse-listen.js';
import type { ListenSettings } from './listen-options.js';
import { ListenGap, type ListenStatus, type Notification } from './notification.js';
import { quoteChannel } from './quote-channel.js';

interface Channel {
  /** Each subscriber, and whether it asked for in-band gap markers. A plain map, not a Subject:
   * a burst of notifications goes straight to the subscribers. */
  readonly subscribers: Map<Subscriber<Notification | ListenGap>, boolean>;
  /** The same subscribers as an array, rebuilt when they change: a burst loops over it without an iterator per notification. */
  receivers: Subscriber<Notification | ListenGap>[];
}

/** How to open the session. */
export interface ListenSessionOptions {
  readonly conn: string;
  readonly params: ConnectionParams;
  readonly connectTimeoutMillis: number;
  readonly initStatement: string | undefined;
  readonly settings: ListenSettings;
  readonly scheduler: SchedulerLike;
  readonly cancelGraceMillis: number;
}

/**
 * The one dedicated session of a listen config. Channels are reference-counted: LISTEN goes out
 * with a channel's first subscriber and UNLISTEN after its last. The session is watched (TCP
 * keepalive plus a periodic round trip), and when it dies it reconnects with exponential backoff
 * and jitter, LISTENs again on every channel in use and reports the gap, since Postgres drops
 * what was sent while nobody listened. Every failed attempt and every loss is an `error` event.
 * A fault no retry can fix (see `classifyListenFault`), or `maxReconnectAttempts` reached,
 * errors every subscriber and `waitForNotify` and stops retrying; the next subscriber starts
 * over. All timing runs on the manager's scheduler.
 */
export class ListenSession {
  readonly status$: BehaviorSubject<ListenStatus> = new BehaviorSubject<ListenStatus>({ state: 'idle' });
  /** Every notification, for `waitForNotify`. */
  readonly all$ = new Subject<Notification>();
  /** Fires when the session is lost or an attempt to open it fails, for subscribers that asked to be errored. */
  readonly lost$ = new Subject<ConnectionError>();
  /** Fires when the session stops retrying (a fault no retry can fix, or maxReconnectAttempts): `waitForNotify` rejects with it. */
  readonly failed$ = new Subject<ConnectionError>();
  readonly #driver: Driver;
  readonly #options: ListenSessionOptions;
  readonly #emit: EmitEvent;
  readonly #channels = new Map<string, Channel>();
  #session: Session | undefined;
  #ready = false;
  #lifecycle: Subscription | undefined;
  #health: Subscription | undefined;
  /**
   * Statements the session has answered. A health check waits in the session's queue behind
   * the LISTENs and UNLISTENs before it (one statement in flight): answers to those show a live
   * session that is busy, not a dead one.
   */
  #answers = 0;
  #lostAt: number | undefined;
  #closed = false;
  /** The attempt in flight: 0 for the first of a start, n for the n-th reconnect. */
  #attempt = 0;
  /** Failed attempts since the session last listened (or was started). */
  #failures = 0;

  constructor(driver: Driver, options: ListenSessionOptions, emit: EmitEvent) {
    this.#driver = driver;
    this.#options = options;
    this.#emit = emit;
  }

  /** Channels with subscribers (or named in the config), which the session LISTENs on. */
  get channels(): string[] {
    return [...new Set([...this.#options.settings.channels, ...this.#channels.keys()])];
  }

  /** Adds a subscriber to `channel`: LISTEN with the first one; the returned function undoes it. */
  acquire(channel: string, subscriber: Subscriber<Notification | ListenGap>, gaps: boolean): () => void {
    let entry = this.#channels.get(channel);
    if (entry === undefined) {
      entry = { subscribers: new Map(), receivers: [] };
      this.#channels.set(channel, entry);
    }
    entry.subscribers.set(subscriber, gaps);
    entry.receivers = [...entry.subscribers.keys()];
    if (entry.subscribers.size === 1 && !this.#options.settings.channels.includes(channel)) this.#command(`LISTEN ${quoteChannel(channel)}`);
    this.start();
    const held = entry;
    return () => {
      if (!held.subscribers.delete(subscriber)) return;
      held.receivers = [...held.subscribers.keys()];
      if (held.subscribers.size > 0 || this.#channels.get(channel) !== held) return;
      this.#channels.delete(channel);
      if (!this.#options.settings.channels.includes(channel)) this.#command(`UNLISTEN ${quoteChannel(channel)}`);
    };
  }

  /** Connects if not yet connected (lazily, on the first subscriber or `waitForNotify`). */
  start(): void {
    if (this.#closed || this.#lifecycle !== undefined || this.#session !== undefined) return;
    this.#attempt = 0;
    this.#failures = 0;
    this.#connect(true);
  }

  /** Runs `sql` on the listen session once it is listening (e.g. `SELECT pg_listening_channels()`). */
  query(sql: string): Observable<unknown[][]> {
    return new Observable<unknown[][]>((subscriber) => {
      const session = this.#session;
      if (!this.#ready || session === undefined) {
        subscriber.error(new RxpgError('RXPG_LISTEN', 'connection', `Listen connection '${this.#options.conn}' is not listening right now.`));
        return;
      }
      const rows: unknown[][] = [];
      const handle = session.execute(sql, [], {
        row: (_shape, values) => rows.push(values),
        complete: () => {
          this.#answers++;
          subscriber.next(rows);
          subscriber.complete();
        },
        error: (error) => subscriber.error(error),
      });
      return () => handle.abandon();
    });
  }

  /** Ends the session for good: subscribers complete, nothing reconnects. */
  close(): Promise<void> {
    this.#closed = true;
    this.#lifecycle?.unsubscribe();
    this.#health?.unsubscribe();
    const session = this.#session;
    this.#session = undefined;
    this.#ready = false;
    for (const channel of this.#channels.values()) for (const subscriber of channel.subscribers.keys()) subscriber.complete();
    this.#channels.clear();
    this.all$.complete();
    this.status$.next({ state: 'closed' });
    if (session === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      session.driver
        .close()
        .pipe(timeout({ first: 5000, scheduler: this.#options.scheduler }))
        .subscribe({
          complete: () => resolve(),
          error: () => {
            session.destroy();
            resolve();
          },
        });
    });
  }

  #connect(fresh: boolean): void {
    const { params, connectTimeoutMillis, scheduler, cancelGraceMillis, initStatement, conn } = this.#options;
    if (fresh) this.status$.next({ state: 'connecting' });
    const startedAt = scheduler.now();
    let opened: Session | undefined;
    let settled = false;
    const subscription = this.#driver
      .connect(params, {
        onNotice: (notice) => this.#emit(() => ({ type: 'notice', conn, processId: opened?.processId ?? 0, ...notice })),
        onLost: (error) => this.#lost(opened, error),
        onNotification: (notification) => this.#deliver(notification),
        onDriverEvent: (event) => this.#emit(() => ({ ...event, conn })),
        now: () => scheduler.now(),
      })
      .pipe(
        timeout({
          first: connectTimeoutMillis,
          scheduler,
          with: () =>
            throwError(() => new ConnectionError(`could not connect to ${describeTarget(params)} within connectTimeout (${connectTimeoutMillis / 1000} s)`, { conn, isRetryable: true })),
        }),
      )
      .subscribe({
        next: (driverConnection) => {
          settled = true;
          const refusal = refuseListen(driverConnection, conn);
          if (refusal !== undefined) {
            // An engine without LISTEN (CockroachDB, Neon's pooled endpoint): nothing is sent, and no retry helps.
            this.#lifecycle = undefined;
            driverConnection.close().subscribe({ error: () => driverConnection.destroy() });
            this.#attemptFailed(refusal, 'connect');
            return;
          }
          opened = new Session(driverConnection, { scheduler, cancelGraceMillis });
          this.#session = opened;
          this.#lifecycle = undefined;
          this.#emit(() => ({ type: 'connect', conn, processId: driverConnection.processId, durationMillis: scheduler.now() - startedAt }));
          // initStatement runs on its own, as the pool runs it: joined into one text with the
          // LISTENs, a trailing `--` comment in it would comment them out. Then one text of LISTENs.
          const session = opened;
          const listening = (): void => this.#listening(session);
          const broken = (error: Error): void => this.#broken(session, error);
          const listen = (): void => {
            const listens = this.channels.map((channel) => `LISTEN ${quoteChannel(channel)}`);
            if (listens.length === 0) listening();
            else session.execute(listens.join('; '), [], { row: () => {}, complete: listening, error: broken });
          };
          if (initStatement === undefined) listen();
          else session.execute(initStatement, [], { row: () => {}, complete: listen, error: broken });
        },
        error: (error: unknown) => {
          settled = true;
          this.#lifecycle = undefined;
          this.#attemptFailed(error, 'connect');
        },
      });
    // A driver that fails at once has already scheduled the retry: keep that, not this.
    if (!settled) this.#lifecycle = subscription;
  }

  #listening(session: Session): void {
    if (this.#session !== session || this.#closed) return;
    const { scheduler, settings } = this.#options;
    this.#ready = true;
    this.status$.next({ state: 'listening', processId: session.processId, channels: this.channels });
    if (this.#lostAt !== undefined) {
      const lostAt = this.#lostAt;
      const listeningAt = scheduler.now();
      this.#lostAt = undefined;
      this.status$.next({ state: 'gap', durationMillis: listeningAt - lostAt, lostAt, listeningAt });
      for (const [channel, entry] of this.#channels) {
        const gap = new ListenGap(channel, lostAt, listeningAt);
        for (const [subscriber, wantsGaps] of entry.subscribers) if (wantsGaps) subscriber.next(gap);
      }
    }
    if (settings.healthCheckIntervalMillis > 0) {
      this.#health = timer(settings.healthCheckIntervalMillis, settings.healthCheckIntervalMillis, scheduler).subscribe(() => this.#checkHealth(session));
    }
  }

  /**
   * A round trip that must come back within healthCheckTimeout, or the session is declared dead.
   * While statements queued before it are still being answered, the session is alive and the
   * deadline starts over: a burst of LISTEN and UNLISTEN is not a dead session.
   */
  #checkHealth(session: Session): void {
    const { scheduler, settings } = this.#options;
    let answers = this.#answers;
    const arm = (): Subscription =>
      timer(settings.healthCheckTimeoutMillis, scheduler).subscribe(() => {
        if (this.#answers !== answers && this.#session === session) {
          answers = this.#answers;
          deadline = arm();
          return;
        }
        this.#broken(session, new ConnectionError(`no answer to a health check within ${settings.healthCheckTimeoutMillis} ms`, { conn: this.#options.conn, isRetryable: true }));
      });
    let deadline = arm();
    session.execute('SELECT 1', [], { row: () => {}, complete: () => deadline.unsubscribe(), error: () => deadline.unsubscribe() });
  }

  #command(sql: string): void {
    const session = this.#session;
    if (session === undefined) return; // sent with every channel in use when the session opens
    session.execute(sql, [], { row: () => {}, complete: () => void this.#answers++, error: (error) => this.#broken(session, error) });
  }

  /** The hot path of a burst: the driver's object is the notification, no work for nobody. */
  #deliver(notification: Notification): void {
    const entry = this.#channels.get(notification.channel);
    if (entry !== undefined) {
      const receivers = entry.receivers;
      for (let index = 0; index < receivers.length; index++) receivers[index].next(notification);
    }
    if (this.all$.observed) this.all$.next(notification);
  }

  /**
   * The session cannot be trusted any more: drop it and reconnect, for `error`. (`#lost` lets
   * go of the session before destroying it, so the driver's own "destroyed" report is ignored.)
   */
  #broken(session: Session, error: Error): void {
    this.#lost(session, error);
  }

  #lost(session: Session | undefined, error: Error): void {
    if (this.#closed || session === undefined || this.#session !== session) return;
    const wasListening = this.#ready;
    this.#session = undefined;
    this.#ready = false;
    this.#health?.unsubscribe();
    session.destroy();
    // Lost before it listened: initStatement or a LISTEN failed, a failed attempt like any other.
    if (!wasListening) {
      this.#attemptFailed(error, 'setup');
      return;
    }
    const { scheduler, conn } = this.#options;
    this.#lostAt ??= scheduler.now();
    this.#failures = 0;
    const delayMillis = this.#delayBefore(1);
    const fault = classifyListenFault(error, 'connect');
    let detail = error.message.replace(/\.$/, '');
    if (fault.sqlState !== undefined && !detail.includes(`SQLSTATE ${fault.sqlState}`)) detail += ` (SQLSTATE ${fault.sqlState})`;
    const lost = new ConnectionError(`Listen connection '${conn}' lost its session: ${detail}. Reconnecting in ${delayMillis} ms.`, {
      reason: fault.reason,
      sqlState: fault.sqlState,
      conn,
      cause: error,
      isRetryable: true,
    });
    this.#emit(() => ({ type: 'error', conn, sql: undefined, error: lost }));
    this.lost$.next(lost);
    this.#reconnect(1, lost, delayMillis);
  }

  /**
   * An attempt to open the session failed. A fault no retry can fix errors every subscriber and
   * waiter and stops; a transient one is logged and retried with backoff, up to
   * maxReconnectAttempts.
   */
  #attemptFailed(error: unknown, stage: 'connect' | 'setup'): void {
    if (this.#closed) return;
    const { settings, scheduler, conn, params, initStatement } = this.#options;
    this.#failures++;
    this.#lostAt ??= scheduler.now();
    const fault = classifyListenFault(error, stage);
    const sqlState = fault.sqlState;
    let detail = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
    const refused = error instanceof EngineUnsupportedError;
    if (stage === 'setup') detail = `${initStatement === undefined ? 'LISTEN' : 'initStatement or LISTEN'} failed: ${detail}`;
    else if (!detail.startsWith('could not connect to ') && !refused) detail = `could not connect to ${describeTarget(params)}: ${detail}`;
    if (sqlState !== undefined && !detail.includes(`SQLSTATE ${sqlState}`)) detail += ` (SQLSTATE ${sqlState})`;
    const options = { reason: fault.reason, sqlState, conn, cause: error };
    if (fault.fatal) {
      this.#fail(
        new ConnectionError(
          `Listen connection '${conn}' ${refused ? 'cannot LISTEN' : stage === 'connect' ? 'cannot connect' : 'cannot open its session'}, and retrying will not help: ${detail}. ${fault.fix === '' ? '' : `${fault.fix} `}A new subscriber tries again.`,
          { ...options, isRetryable: false },
        ),
      );
      return;
    }
    const next = this.#attempt + 1;
    if (next > settings.maxReconnectAttempts) {
      this.#fail(
        new ConnectionError(
          `Listen connection '${conn}' gave up after ${this.#failures} failed attempts (maxReconnectAttempts: ${settings.maxReconnectAttempts}): ${detail}. A new subscriber tries again.`,
          { ...options, isRetryable: true },
        ),
      );
      return;
    }
    const delayMillis = this.#delayBefore(next);
    const failure = new ConnectionError(
      `Listen connection '${conn}' ${stage === 'connect' ? 'could not connect' : 'could not LISTEN'} (attempt ${this.#failures}): ${detail}. Retrying in ${delayMillis} ms.`,
      { ...options, isRetryable: true },
    );
    this.#emit(() => ({ type: 'error', conn, sql: undefined, error: failure }));
    this.lost$.next(failure);
    this.#reconnect(next, failure, delayMillis);
  }

  /** Exponential backoff with jitter (±50 %), capped. */
  #delayBefore(attempt: number): number {
    const { settings } = this.#options;
    const base = Math.min(settings.maxReconnectDelayMillis, settings.reconnectDelayMillis * 2 ** (attempt - 1));
    return settings.reconnectJitter ? Math.round(base * (0.5 + Math.random())) : base;
  }

  #reconnect(attempt: number, error: ConnectionError, delayMillis: number): void {
    const { scheduler } = this.#options;
    this.status$.next({ state: 'reconnecting', attempt, error, delayMillis, since: this.#lostAt ?? scheduler.now() });
    this.#lifecycle = timer(delayMillis, scheduler).subscribe(() => {
      this.#lifecycle = undefined;
      this.#attempt = attempt;
      this.#connect(false);
    });
  }

  /**
   * Stops retrying: every subscriber and waiter gets `error`, and the session waits, closed to
   * nothing, for the next subscriber (`start`), which tries once more.
   */
  #fail(error: ConnectionError): void {
    const { conn } = this.#options;
    this.#lifecycle?.unsubscribe();
    this.#lifecycle = undefined;
    this.#health?.unsubscribe();
    this.#lostAt = undefined;
    this.#failures = 0;
    this.#attempt = 0;
    this.#emit(() => ({ type: 'error', conn, sql: undefined, error }));
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    this.status$.next({ state: 'failed', error });
    this.failed$.next(error);
    for (const channel of channels) for (const subscriber of channel.subscribers.keys()) subscriber.error(error);
  }
}
