import { catchError, EmptyError, first, ignoreElements, map, Observable, of, throwError, timeout } from 'rxjs';
import { describeTarget } from '../driver/connection-params.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { RxpgError } from '../errors/rxpg-error.js';
import { checkChannel } from './listen/quote-channel.js';
import { checkPayload } from './listen/check-payload.js';
import { splitListenOptions, type ListenConnOptions, type ListenSettings } from './listen/listen-options.js';
import { ListenSession } from './listen/listen-session.js';
import type { ListenGap, ListenStatus, Notification } from './listen/notification.js';
import { postgresParams, type PostgresConnectionParams } from './postgres-connection-params.js';
import { isNeonPooledHost, neonDirectHost } from './engine.js';
import { PostgresDriver } from './postgres-driver.js';
import { didYouMean } from '../util/nearest-name.js';
import type { ConnConfig } from '../manager/conn-config.js';
import { DbManager, type ManagerOptions } from '../manager/db-manager.js';
import { checkOptionKeys, timeoutOf } from '../manager/query-options.js';
import type { Transaction } from '../manager/transaction.js';
import { LeaseScope } from '../pool/lease-scope.js';

let instance: PgManager | undefined;

/** Options of {@link PgManager.notifications}. */
export interface NotificationsOptions {
  /** Listen config name; `listen` when omitted. */
  readonly conn?: string;
  /** Also emit a {@link ListenGap} marker in-band each time the session was lost and listens again. */
  readonly gaps?: boolean;
  /**
   * Error this subscriber with a ConnectionError when the session is lost or an attempt to open
   * it fails, instead of healing quietly. (A fault no retry can fix errors every subscriber.)
   */
  readonly errorOnReconnect?: boolean;
}

/** Options of {@link PgManager.notify}. */
export interface NotifyOptions {
  /** Pooled config to send through; `default` when omitted. */
  readonly conn?: string;
  /** Send inside this transaction: delivered when it commits, never if it rolls back. */
  readonly tx?: Transaction;
}

/**
 * PgManager for RxJS: named connection configs, one pool per config, cold queries emitting
 * {@link OrderedRow}s, connection, cursor and transaction scopes as RxJS resources, and
 * LISTEN/NOTIFY as hot observables per channel on a dedicated, self-healing listen session.
 *
 * @example
 * ```ts
 * import { PgManager } from 'rxpg';
 * import { first } from 'rxjs';
 *
 * const pgm = PgManager.getInstance();
 * pgm.createConn({ host: '127.0.0.1', dbname: 'postgres', isolationLevel: 'autocommit' });
 * pgm.cursor((curs) => curs.execute('SELECT now() AS now'))
 *   .pipe(first())
 *   .subscribe((row) => console.log(row.now));
 * ```
 * @see {@link DbManager} for the methods shared with MyManager
 */
export class PgManager extends DbManager {
  readonly #listenConfigs = new Map<string, { readonly config: ConnConfig; readonly settings: ListenSettings }>();
  readonly #listenSessions = new Map<string, ListenSession>();

  /** A manager of its own, isolated from {@link PgManager.getInstance}'s configs and pools. */
  constructor(options: ManagerOptions = {}) {
    super(options.driver ?? new PostgresDriver(), options);
  }

  /**
   * The process-wide default manager, PgManager's `get_instance()`. After its `close()` it stays
   * closed (its queries fail with reason `closed`): make a `new PgManager()` for more work.
   */
  static getInstance(): PgManager {
    instance ??= new PgManager();
    return instance;
  }

  /**
   * Registers a listen config, PgManager's `create_conn_listen`: one dedicated session, no pool.
   * `channel` (one or a list) is LISTENed as soon as the session opens. Never connects: the
   * session opens with the first `notifications()` subscriber or `waitForNotify()`.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   *
   * const pgm = PgManager.getInstance();
   * pgm.createConn({ name: 'thatdb', host: '127.0.0.1', dbname: 'postgres' });
   * pgm.createConnListen({ name: 'listenconn', channel: 'CHAT', copyDsn: 'thatdb' });
   * ```
   * @see {@link PgManager.notifications}
   */
  createConnListen(options: ListenConnOptions): void {
    const { connection, settings } = splitListenOptions(options);
    const config = this.resolveConn(connection);
    if (config.params.pooler === 'transaction') {
      // Said by the config (or the copyDsn config whose address it copied): no signal on the wire
      // tells a transaction pooler apart in time (see the README, "Behind PgBouncer, RDS Proxy, Supavisor").
      throw new ConfigurationError(
        `Listen connection '${config.name}': LISTEN needs a session of its own, and ${describeTarget(config.params)} is a transaction pooler ` +
          `(pooler: 'transaction'${options.pooler === undefined && options.copyDsn !== undefined ? `, from copyDsn '${String(options.copyDsn)}'` : ''}), which hands each transaction to any server connection: ` +
          `notifications would go to a session nobody listens on. Point the listen config at a session-mode pool or a direct connection to the server ` +
          `(copyDsn with the server's host and port, or a connectionString of its own).` +
          neonHint(postgresParams(config.params)),
        { conn: config.name },
      );
    }
    if (this.#listenConfigs.has(config.name) || this.hasConn(config.name)) {
      throw new ConfigurationError(
        `Connection '${config.name}' is already registered. Pick another name, or call destroyConn('${config.name}') first.`,
        { conn: config.name },
      );
    }
    this.#listenConfigs.set(config.name, { config: listenOnPrimary(config), settings });
  }

  /**
   * The notifications of `channel`: a hot observable shared per channel. LISTEN is sent with the
   * first subscriber and UNLISTEN after the last one leaves. The channel name is quoted exactly
   * as given (case kept); payloads arrive unchanged. A lost session reconnects by itself and
   * LISTENs again; ask for `gaps: true` to see a {@link ListenGap} marker when that happened.
   * A connect fault no retry can fix (wrong password, no such database or role, no pg_hba.conf
   * entry, a failing initStatement) errors every subscriber with a `ConnectionError`
   * (`reason`, `sqlState`) and stops retrying until the next subscriber.
   *
   * @example
   * ```ts
   * import { PgManager, parseJsonPayload } from 'rxpg';
   * import { bufferTime, filter } from 'rxjs';
   *
   * // Batches of orders per 100 ms; bufferTime also emits the empty ones, which the filter drops.
   * PgManager.getInstance().notifications('orders', { conn: 'listenconn' })
   *   .pipe(parseJsonPayload<{ id: number }>(), filter((note) => note.ok), bufferTime(100), filter((batch) => batch.length > 0))
   *   .subscribe((batch) => console.log(`${batch.length} new orders`));
   * ```
   * @see {@link PgManager.notify}
   */
  notifications(channel: string, options?: NotificationsOptions & { gaps?: false }): Observable<Notification>;
  notifications(channel: string, options: NotificationsOptions & { gaps: true }): Observable<Notification | ListenGap>;
  notifications(channel: string, options: NotificationsOptions = {}): Observable<Notification | ListenGap> {
    checkChannel(channel);
    checkOptionKeys(options, ['conn', 'gaps', 'errorOnReconnect'], 'notifications');
    const name = options.conn ?? 'listen';
    this.#listenConfig(name);
    return new Observable<Notification | ListenGap>((subscriber) => {
      this.checkOpen('notifications', name);
      const session = this.#listenSession(name);
      // The listen session serves every subscriber: what it starts (its socket) belongs to no scope's code.
      const release = LeaseScope.runIn(undefined, () => session.acquire(channel, subscriber, options.gaps === true));
      const lost = options.errorOnReconnect ? session.lost$.subscribe((error) => subscriber.error(error)) : undefined;
      return () => {
        lost?.unsubscribe();
        release();
      };
    });
  }

  /**
   * PgManager's `wait_for_notify`: the next notification on any channel of the listen config,
   * or `null` when `timeout` milliseconds pass first. Opens the listen session if needed, and
   * errors with a `ConnectionError` when it cannot connect and retrying will not help.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { repeat } from 'rxjs';
   *
   * PgManager.getInstance().waitForNotify('listenconn', { timeout: 5000 })
   *   .pipe(repeat())
   *   .subscribe((note) => note && console.log('NOTIFY:', note));
   * ```
   */
  waitForNotify(name = 'listen', options: { timeout?: number } = {}): Observable<Notification | null> {
    checkOptionKeys(options, ['timeout'], 'waitForNotify');
    const timeoutMillis = timeoutOf(options, 'waitForNotify');
    this.#listenConfig(name);
    return new Observable<Notification | null>((subscriber) => {
      this.checkOpen('waitForNotify', name);
      const session = this.#listenSession(name);
      // A fault no retry can fix rejects the wait rather than letting it time out to null.
      subscriber.add(session.failed$.subscribe((error) => subscriber.error(error)));
      // A session closed while waiting completes all$: say so, typed, rather than "no elements".
      const next = session.all$.pipe(
        first(),
        catchError((error: unknown) =>
          throwError(() =>
            error instanceof EmptyError
              ? new RxpgError('RXPG_LISTEN', 'closed', `Listen connection '${name}' was closed while waitForNotify waited.`, { conn: name })
              : error,
          ),
        ),
      );
      const waited = timeoutMillis === undefined ? next : next.pipe(timeout({ first: timeoutMillis, scheduler: this.runtime.scheduler, with: () => of(null) }));
      subscriber.add(waited.subscribe(subscriber));
      LeaseScope.runIn(undefined, () => session.start());
    });
  }

  /**
   * Sends a notification through `pg_notify($1, $2)`: channel and payload are bound parameters,
   * never SQL text. A payload the server would refuse (8000 bytes or more) throws a typed error
   * before anything is sent. With `tx`, it is sent inside that transaction and delivered on
   * commit.
   *
   * @example
   * ```ts
   * import { PgManager } from 'rxpg';
   * import { concat } from 'rxjs';
   *
   * const pgm = PgManager.getInstance();
   * pgm.notify('orders', JSON.stringify({ id: 42 })).subscribe();
   * pgm.transaction((tx) => concat(tx.query('INSERT INTO orders (id) VALUES (43)'), pgm.notify('orders', '43', { tx }))).subscribe();
   * ```
   */
  notify(channel: string, payload = '', options: NotifyOptions = {}): Observable<never> {
    checkChannel(channel);
    checkPayload(payload);
    checkOptionKeys(options, ['conn', 'tx'], 'notify');
    const sql = 'SELECT pg_notify($1, $2)';
    return (options.tx ? options.tx.query(sql, [channel, payload]) : this.query(sql, [channel, payload], { conn: options.conn })).pipe(ignoreElements());
  }

  /**
   * The life of a listen session: connecting, listening, reconnecting (after each failed attempt
   * or loss, with the error), gap, failed (retries stopped: a fault no retry can fix, or
   * maxReconnectAttempts; subscribers were errored), closed.
   */
  listenStatus$(name = 'listen'): Observable<ListenStatus> {
    this.#listenConfig(name);
    return new Observable<ListenStatus>((subscriber) => {
      this.checkOpen('listenStatus$', name);
      return this.#listenSession(name).status$.subscribe(subscriber);
    });
  }

  /** The channels the listen session LISTENs on, as the server says (`pg_listening_channels()`). */
  listeningChannels(name = 'listen'): Observable<string[]> {
    this.#listenConfig(name);
    return new Observable<string[]>((subscriber) => {
      this.checkOpen('listeningChannels', name);
      return this.#listenSession(name)
        .query('SELECT pg_listening_channels()')
        .pipe(map((rows) => rows.map((row) => String(row[0])).sort()))
        .subscribe(subscriber);
    });
  }

  override closeConn(name = 'default'): Promise<void> {
    if (!this.#listenConfigs.has(name)) return super.closeConn(name);
    const session = this.#listenSessions.get(name);
    this.#listenSessions.delete(name);
    return session ? session.close() : Promise.resolve();
  }

  override destroyConn(name = 'default'): Promise<void> {
    if (!this.#listenConfigs.has(name)) return super.destroyConn(name);
    const closed = this.closeConn(name);
    this.#listenConfigs.delete(name);
    return closed;
  }

  override async close(): Promise<void> {
    const sessions = [...this.#listenSessions.values()];
    this.#listenSessions.clear();
    await Promise.all([super.close(), ...sessions.map((session) => session.close())]);
  }

  protected override checkNameFree(name: string): void {
    if (this.#listenConfigs.has(name)) {
      throw new ConfigurationError(`Connection '${name}' is already registered as a listen connection. Pick another name.`, { conn: name });
    }
  }

  #listenConfig(name: string): { readonly config: ConnConfig; readonly settings: ListenSettings } {
    const entry = this.#listenConfigs.get(name);
    if (entry !== undefined) return entry;
    const names = [...this.#listenConfigs.keys()];
    throw new ConfigurationError(
      names.length === 0
        ? `Unknown listen connection '${name}': call createConnListen({ name: '${name}', channel, copyDsn }) first.`
        : `Unknown listen connection '${name}'${didYouMean(name, names)}. Registered: ${names.map((n) => `'${n}'`).join(', ')}.`,
      { conn: name },
    );
  }

  #listenSession(name: string): ListenSession {
    let session = this.#listenSessions.get(name);
    if (session === undefined) {
      const { config, settings } = this.#listenConfig(name);
      const { driver, scheduler, cancelGraceMillis, emit } = this.runtime;
      session = new ListenSession(
        driver,
        {
          conn: name,
          params: config.params,
          connectTimeoutMillis: config.connectTimeoutMillis,
          initStatement: config.initStatement,
          settings,
          scheduler,
          cancelGraceMillis,
        },
        emit,
      );
      this.#listenSessions.set(name, session);
    }
    return session;
  }
}

/** For Neon's pooled endpoint (the pooler inferred from its host name, or said): name the direct endpoint (see `neon-pooler.ts`). */
function neonHint(params: PostgresConnectionParams): string {
  const host = params.poolerInferredFrom ?? params.hosts.find((entry) => isNeonPooledHost(entry.host))?.host;
  return host === undefined ? '' : ` (${host} is Neon's pooled endpoint, PgBouncer in transaction mode: its direct endpoint is ${neonDirectHost(host)}, the host name without -pooler.)`;
}

/**
 * A standby cannot LISTEN: a listen config with several hosts and no target_session_attrs of its
 * own (`any`) connects to the primary, wherever it is in the list and after a failover.
 */
function listenOnPrimary(config: ConnConfig): ConnConfig {
  const params = postgresParams(config.params);
  if (params.hosts.length < 2 || params.targetSessionAttrs !== 'any') return config;
  const primary = { ...params, targetSessionAttrs: 'primary' as const };
  Object.defineProperty(primary, 'password', { value: params.password, enumerable: false });
  return { ...config, params: Object.freeze(primary) };
}
