import { timeout, timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { ConnectionParams } from '../driver/connection-params.js';
import type { Driver } from '../driver/driver.js';
import { PoolError, type PoolState } from '../errors/pool-error.js';
import type { RxpgError } from '../errors/rxpg-error.js';
import type { EmitEvent, ReleaseEvent } from '../events/db-event.js';
import { backgroundTimer } from './background-timer.js';
import { Connector } from './connector.js';
import { Lease, type LeaseOwner, type SharedStatement } from './lease.js';
import { LeaseScope } from './lease-scope.js';
import { PoolCounters } from './pool-counters.js';
import type { Session } from './session.js';

/** How a pool behaves; built from a connection config. */
export interface PoolOptions {
  readonly conn: string;
  readonly size: number;
  readonly maxWaiting: number;
  readonly acquireTimeoutMillis: number;
  readonly connectTimeoutMillis: number;
  readonly idleTimeoutMillis: number;
  readonly maxLifetimeMillis: number;
  readonly initStatement: string | undefined;
  readonly cancelGraceMillis: number;
  readonly closeGraceMillis: number;
  readonly scheduler: SchedulerLike;
  /** Follow scopes' code across awaits (see {@link LeaseScope}); the manager's `scopeBypass` is not `'off'`. */
  readonly trackScopes?: boolean;
  /**
   * How to open a session outside the context of the caller whose request made the pool grow
   * (an instrumentation's, read at each open; usually none): a socket keeps the async context it
   * was made in, and every caller's rows would arrive in that one caller's context.
   */
  readonly openOutside?: () => (<R>(open: () => R) => R) | undefined;
  /** How many independent statements may share one busy session's pipeline (the config's `pipeline`); 1 or absent: off. */
  readonly pipelineDepth?: number;
}

type ReleaseReason = ReleaseEvent['reason'];

/**
 * The sessions of one connection config. Lease requests queue FIFO in a bounded queue under one
 * deadline (`acquireTimeoutMillis`) that covers waiting, connecting and `initStatement`; the
 * {@link Connector} opens sessions while requests wait. Sessions come back through a reset
 * (cancel what runs, roll back what is open, undo the session state a statement changed) and
 * are pooled only when idle with no transaction and in the state their config defines; broken
 * ones are discarded. A session that opens after its requester gave up serves the next
 * requester or waits idle: nothing is leaked.
 */
export class Pool implements LeaseOwner {
  readonly #driver: Driver;
  readonly #options: PoolOptions;
  readonly #emit: EmitEvent;
  readonly #connector: Connector;
  readonly #all = new Set<Session>();
  readonly #idle: Session[] = [];
  /** Granted sessions and the leases that hold them. */
  readonly #leased = new Map<Session, Lease>();
  readonly #waiting: Lease[] = [];
  /** The backend's sessions cannot pipeline: `pipeline` has no effect on this pool. */
  #noPipelining = false;
  /**
   * One timer for the whole queue, armed for the oldest request's deadline: requests queue FIFO
   * under the same acquireTimeout, so the head always expires first. A timer per request cost
   * a setInterval and a clearInterval per queued query (about 2 µs of CPU each).
   */
  #deadline: Subscription | undefined;
  /** What happened so far (the manager's, for the config: it outlives this pool). */
  readonly counters: PoolCounters;
  #closing: Promise<void> | undefined;
  #closed: (() => void) | undefined;

  constructor(driver: Driver, params: ConnectionParams, options: PoolOptions, emit: EmitEvent, counters = new PoolCounters()) {
    this.#driver = driver;
    this.#options = options;
    this.#emit = emit;
    this.counters = counters;
    this.#connector = new Connector(driver, params, options, emit, {
      opened: (session) => {
        this.counters.connects++;
        if ((options.pipelineDepth ?? 1) > 1) {
          session.sharing = { sent: () => this.counters.pipelined++, ended: () => this.#sharedEnded(session) };
        }
        this.#all.add(session);
        this.#offer(session);
      },
      failed: (error) => {
        this.counters.connectFailures++;
        this.#failHead(error);
      },
      ready: () => this.#grow(),
      lost: (session) => this.#lost(session),
    });
  }

  /** What the pool looks like now. */
  get state(): PoolState {
    return {
      size: this.#options.size,
      total: this.#all.size + this.#connector.attempts,
      inUse: this.#all.size - this.#idle.length,
      idle: this.#idle.length,
      waiting: this.#waiting.length,
    };
  }

  /** Attempts to open a session under way (counted in `state.total`). */
  get connecting(): number {
    return this.#connector.attempts;
  }

  get isClosing(): boolean {
    return this.#closing !== undefined;
  }

  /** A new lease request, queued at once; `unsubscribe()` gives the session back or leaves the queue. */
  lease(statement?: SharedStatement): Lease {
    const { scheduler, conn } = this.#options;
    const lease = new Lease(this, scheduler.now(), this.#options.trackScopes === true, statement);
    if (this.#closing) {
      lease.fail(new PoolError('closed', `Connection '${conn}' is closing; no new leases are granted.`, this.state, { conn }));
      return lease;
    }
    if (this.#waiting.length === 0) {
      const session = this.#takeIdle();
      if (session) {
        this.#grant(lease, session);
        return lease;
      }
    }
    if (this.#isSelfDeadlock()) {
      lease.fail(
        new PoolError(
          'pool_deadlock',
          `Connection '${conn}': every session of the pool (size ${this.#options.size}) is held by the transaction, cursor or ` +
            `connection scope that is asking for another one, so it would wait forever. Run the statement on the scope's own ` +
            `handle (tx.query, curs.execute, conn.query) or raise poolSize.`,
          this.state,
          { conn },
        ),
      );
      return lease;
    }
    if (this.#waiting.length >= this.#options.maxWaiting) {
      lease.fail(
        new PoolError('pool_full', `Connection '${conn}': ${this.#waiting.length} lease requests are already waiting (maxWaiting).`, this.state, { conn }),
      );
      return lease;
    }
    this.#waiting.push(lease);
    this.#deadline ??= this.#armDeadline();
    this.#grow();
    return lease;
  }

  /**
   * A busy session that would send `statement` (an independent caller's) at once behind the
   * statements in flight there, instead of it waiting for a lease: only while no request waits
   * (a request in the queue gets the next session that comes free, and no session keeps taking
   * on statements while it waits), none is idle, the pool can grow no more, and fewer than the
   * config's `pipeline` statements share that session's pipeline; the one with the fewest goes
   * first. Never one to be retired when it comes back (past maxLifetime, changed role), which
   * must drain to be.
   */
  sharedSession(statement: SharedStatement): Session | undefined {
    if (this.#noPipelining || this.#waiting.length > 0 || this.#idle.length > 0 || this.#closing) return undefined;
    if (this.#all.size + this.#connector.attempts < this.#options.size) return undefined;
    let chosen: Session | undefined;
    let least = this.#options.pipelineDepth ?? 1;
    for (const session of this.#all) {
      if (session.driver.pipelineFit === undefined) {
        // The backend cannot pipeline (MySQL): not asked again for this pool.
        this.#noPipelining = true;
        return undefined;
      }
      const depth = session.sharedDepth;
      if (depth === undefined || depth >= least || !this.#mayTakeMore(session)) continue;
      if (!session.canTake(statement.sql, statement.params, statement.options, statement.limited)) continue;
      chosen = session;
      least = depth;
    }
    return chosen;
  }

  /** A session that will be retired when it comes back takes on no more statements. */
  #mayTakeMore(session: Session): boolean {
    return !session.isBroken && !this.#outlived(session) && session.driver.roleChange === undefined;
  }

  /**
   * A statement sharing `session`'s pipeline ended: requests for independent statements at the
   * head of the queue take its place, while the session has room. A request for anything else
   * at the head waits for a session of its own, which the pipelines free up as they drain.
   */
  #sharedEnded(session: Session): void {
    const maxDepth = this.#options.pipelineDepth ?? 1;
    while (this.#waiting.length > 0 && this.#mayTakeMore(session)) {
      const statement = this.#waiting[0].statement;
      const depth = session.sharedDepth;
      if (statement === undefined || depth === undefined || depth >= maxDepth) return;
      if (!session.canTake(statement.sql, statement.params, statement.options, statement.limited)) return;
      const lease = this.#waiting.shift() as Lease;
      this.#queueShrank();
      if (this.#options.trackScopes) LeaseScope.runIn(lease.parent, () => lease.share(session));
      else lease.share(session);
    }
  }

  /** LeaseOwner: a granted lease comes back. */
  release(lease: Lease, session: Session): void {
    this.#reset(session);
  }

  /** LeaseOwner: a waiting lease leaves the queue. */
  withdraw(lease: Lease): void {
    const index = this.#waiting.indexOf(lease);
    if (index >= 0) this.#waiting.splice(index, 1);
    this.#queueShrank();
  }

  /**
   * Refuses new leases, fails waiting ones, closes idle sessions, lets leased ones finish
   * (destroying them after `closeGraceMillis`) and resolves when no session is left.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const { conn, closeGraceMillis, scheduler } = this.#options;
    this.#closing = new Promise<void>((resolve) => {
      this.#closed = resolve;
    });
    this.#deadline?.unsubscribe();
    this.#deadline = undefined;
    for (const lease of this.#waiting.splice(0)) {
      lease.fail(new PoolError('closed', `Connection '${conn}' was closed while this lease request waited.`, this.state, { conn }));
    }
    this.#connector.close();
    for (const session of this.#idle.splice(0)) this.#discard(session, 'closing');
    const force = timer(closeGraceMillis, scheduler).subscribe(() => {
      for (const session of this.#all) session.destroy();
    });
    this.#closing.then(() => force.unsubscribe());
    this.#checkClosed();
    return this.#closing;
  }

  #grant(lease: Lease, session: Session): void {
    this.#leased.set(session, lease);
    const waitMillis = this.#options.scheduler.now() - lease.requestedAt;
    this.counters.granted(waitMillis);
    this.#emit(() => ({ type: 'acquire', conn: this.#options.conn, processId: session.processId, waitMillis }));
    // A leased session has work in hand: it keeps the process alive until it is idle again.
    session.driver.keepProcessAlive?.(true);
    // A lease that waited is granted from whatever returned a session: its holder's code runs in
    // the context it asked from, not in the scope of the code that returned the session.
    if (this.#options.trackScopes) LeaseScope.runIn(lease.parent, () => lease.grant(session));
    else lease.grant(session);
  }

  #takeIdle(): Session | undefined {
    // Most recently used first: warm caches, and surplus sessions age out through idleTimeout.
    for (let session = this.#idle.pop(); session; session = this.#idle.pop()) {
      session.idleTimer?.unsubscribe();
      if (session.isBroken) this.#discard(session, 'broken');
      else if (session.driver.roleChange !== undefined) this.#discard(session, 'role_changed', undefined, session.driver.roleChange);
      else return session;
    }
    return undefined;
  }

  #isSelfDeadlock(): boolean {
    if (this.#all.size + this.#connector.attempts < this.#options.size || this.#leased.size === 0) return false;
    for (const lease of this.#leased.values()) if (!lease.scopeRunning) return false;
    return true;
  }

  /** The timer for the head's deadline; when it fires, every request past its deadline fails and the next head's is armed. */
  #armDeadline(): Subscription | undefined {
    const head = this.#waiting[0];
    if (head === undefined) return undefined;
    const { acquireTimeoutMillis, scheduler } = this.#options;
    const left = head.requestedAt + acquireTimeoutMillis - scheduler.now();
    return timer(Math.max(0, left), scheduler).subscribe(() => {
      // Unset first: a request queued by a failing holder's code arms its own timer.
      this.#deadline = undefined;
      // One request per firing, as with a timer each: the code its failure runs (and the
      // microtasks after it) may return a session to the next one before that one's turn. A timer
      // may also fire a millisecond before the clock it is compared with says so: then the same
      // head is armed again, 1 ms on.
      const head = this.#waiting[0];
      if (head !== undefined && scheduler.now() - head.requestedAt >= acquireTimeoutMillis) this.#timeOut(head);
      this.#deadline ??= this.#armDeadline();
    });
  }

  /** The queue lost a request: with none left, nothing is due (an armed timer would keep the process alive). */
  #queueShrank(): void {
    if (this.#waiting.length > 0) return;
    this.#deadline?.unsubscribe();
    this.#deadline = undefined;
  }

  #timeOut(lease: Lease): void {
    // The state as this request saw it: itself still counted as waiting.
    const state = this.state;
    this.#waiting.shift();
    this.counters.timeouts++;
    const { conn, acquireTimeoutMillis } = this.#options;
    lease.fail(
      new PoolError(
        'pool_timeout',
        `Connection '${conn}': no session within acquireTimeout (${acquireTimeoutMillis} ms); pool size ${state.size}, ` +
          `${state.inUse} in use, ${state.idle} idle, ${state.waiting} waiting, ${this.#connector.attempts} connecting` +
          (this.#connector.lastError ? `; the last connect failed: ${this.#connector.lastError.message}` : '.'),
        state,
        { conn, cause: this.#connector.lastError },
      ),
    );
  }

  /** Opens sessions while requests wait and the pool has room (not while the connector backs off). */
  #grow(): void {
    const connector = this.#connector;
    while (
      !this.#closing &&
      !connector.backingOff &&
      this.#waiting.length > connector.attempts &&
      this.#all.size + connector.attempts < this.#options.size
    ) {
      // A session serves every caller of the pool: its socket belongs to no scope's code.
      const outside = this.#options.openOutside?.();
      if (outside !== undefined) outside(() => (this.#options.trackScopes ? LeaseScope.runIn(undefined, () => connector.open()) : connector.open()));
      else if (this.#options.trackScopes) LeaseScope.runIn(undefined, () => connector.open());
      else connector.open();
    }
  }

  /**
   * A connect failed: the oldest request learns why. The ones still waiting hear of it at the
   * latest when their acquireTimeout ends; the connector tries again after its backoff.
   */
  #failHead(error: RxpgError): void {
    const lease = this.#waiting.shift();
    this.#queueShrank();
    lease?.fail(error);
    this.#checkClosed();
  }

  #offer(session: Session): void {
    if (this.#closing) {
      this.#discard(session, 'closing');
      return;
    }
    const lease = this.#waiting.shift();
    if (lease) {
      this.#queueShrank();
      this.#grant(lease, session);
      return;
    }
    this.#idle.push(session);
    // Neither an idle session nor its idle timer keeps the process alive (pg.Pool's allowExitOnIdle).
    session.driver.keepProcessAlive?.(false);
    const { idleTimeoutMillis, scheduler } = this.#options;
    if (idleTimeoutMillis > 0) {
      session.idleTimer = backgroundTimer(scheduler, idleTimeoutMillis, () => {
        const index = this.#idle.indexOf(session);
        if (index >= 0) {
          this.#idle.splice(index, 1);
          this.#discard(session, 'idle_timeout');
        }
      });
    }
  }

  /**
   * Cleans a returned session: waits out what runs, rolls back what is open, resets the state a
   * statement changed, then pools or discards it.
   */
  #reset(session: Session): void {
    this.#leased.delete(session);
    session.whenIdle(() => {
      session.forgetPendingBegin();
      if (session.isBroken) return this.#released(session, 'broken');
      // A server that changed role (a promoted standby under a standby config) serves the config no
      // more: closed, and the next acquire opens a session where the config's target is now.
      const roleChange = session.driver.roleChange;
      if (roleChange !== undefined) return this.#discard(session, 'role_changed', undefined, roleChange);
      if (session.driver.transactionStatus === 'idle') return this.#restore(session);
      session.execute(this.#driver.rollbackTransaction(), [], {
        row: () => {},
        complete: () => (session.driver.transactionStatus === 'idle' ? this.#restore(session) : this.#released(session, 'reset_failed')),
        error: () => this.#released(session, 'reset_failed'),
      });
    });
  }

  /**
   * The next lease gets the session in the state its config defines: a role, setting,
   * temporary table, lock or LISTEN a statement left behind is reset and `initStatement` runs
   * again. Nothing is sent when nothing was changed.
   */
  #restore(session: Session): void {
    const change = session.driver.sessionChange;
    if (change === undefined || this.#closing || this.#outlived(session)) return this.#released(session, 'pooled', change);
    const reset = session.driver.resetStatement();
    if (reset === undefined) return this.#released(session, 'session_changed', change);
    const failed = (): void => this.#released(session, 'reset_failed', change);
    const restored = (): void => {
      session.driver.markBaseline();
      this.#released(session, 'pooled', change);
    };
    const { initStatement } = this.#options;
    session.execute(reset, [], {
      row: () => {},
      error: failed,
      complete: () => (initStatement === undefined ? restored() : session.execute(initStatement, [], { row: () => {}, error: failed, complete: restored })),
    });
  }

  #outlived(session: Session): boolean {
    const { maxLifetimeMillis, scheduler } = this.#options;
    return maxLifetimeMillis > 0 && scheduler.now() - session.createdAt >= maxLifetimeMillis;
  }

  #released(session: Session, reason: ReleaseReason, sessionChange?: string): void {
    const { conn } = this.#options;
    if (reason === 'pooled' && this.#outlived(session)) reason = 'max_lifetime';
    if (reason === 'pooled' && this.#closing) reason = 'closing';
    if (reason !== 'pooled') {
      this.#discard(session, reason, sessionChange);
      return;
    }
    this.#emit(() => ({ type: 'release', conn, processId: session.processId, discarded: false, reason, ...(sessionChange === undefined ? {} : { sessionChange }) }));
    this.#offer(session);
  }

  #discard(session: Session, reason: ReleaseReason, sessionChange?: string, roleChange?: string): void {
    session.idleTimer?.unsubscribe();
    if (!this.#all.delete(session)) return;
    const { conn } = this.#options;
    this.#emit(() => ({
      type: 'release',
      conn,
      processId: session.processId,
      discarded: true,
      reason,
      ...(sessionChange === undefined ? {} : { sessionChange }),
      ...(roleChange === undefined ? {} : { roleChange }),
    }));
    // Its goodbye is awaited (close() resolves after it): the process stays for it.
    session.driver.keepProcessAlive?.(true);
    if (session.isBroken) session.destroy();
    else {
      const { closeGraceMillis, scheduler } = this.#options;
      session.driver
        .close()
        .pipe(timeout({ first: closeGraceMillis, scheduler }))
        .subscribe({ error: () => session.destroy() });
    }
    this.#grow();
    this.#checkClosed();
  }

  /** The driver says a session died; an idle one is dropped now, a leased one when it comes back. */
  #lost(session: Session): void {
    const index = this.#idle.indexOf(session);
    if (index >= 0) {
      this.#idle.splice(index, 1);
      this.#discard(session, 'broken');
    }
  }

  #checkClosed(): void {
    if (this.#closing && this.#all.size === 0 && this.#connector.attempts === 0) this.#closed?.();
  }
}
